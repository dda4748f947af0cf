package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Assert reports; Fatalf ends the calling goroutine as
// testing.T's does.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

// assert runs Assert on a recorder in its own goroutine, so a Fatalf ends only that goroutine.
func assert(t *testing.T, path, got string) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Assert(r, path, got)
	}()
	<-done
	return r
}

func TestAssert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.golden")
	if err := os.WriteFile(path, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("equal output passes", func(t *testing.T) {
		t.Parallel()
		if r := assert(t, path, "hello\n"); len(r.errors)+len(r.fatals) != 0 {
			t.Errorf("reported %q %q", r.errors, r.fatals)
		}
	})
	t.Run("different output is an error naming the file and both texts", func(t *testing.T) {
		t.Parallel()
		r := assert(t, path, "goodbye\n")
		if len(r.errors) != 1 || !strings.Contains(r.errors[0], path) || !strings.Contains(r.errors[0], "goodbye") ||
			!strings.Contains(r.errors[0], "hello") || !strings.Contains(r.errors[0], "-update") {
			t.Errorf("errors = %q", r.errors)
		}
	})
	t.Run("a missing file stops the test and says how to create it", func(t *testing.T) {
		t.Parallel()
		r := assert(t, filepath.Join(dir, "missing.golden"), "x")
		if len(r.fatals) != 1 || !strings.Contains(r.fatals[0], "-update") {
			t.Errorf("fatals = %q", r.fatals)
		}
	})
}
