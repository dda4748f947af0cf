package repoconfig

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .errors files in testdata/invalid")

// TestInvalidFilesMatchGoldenErrors parses every testdata/invalid/*.yaml and
// compares the errors with the .errors file beside it.
func TestInvalidFilesMatchGoldenErrors(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/invalid/*.yaml files")
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := Parse(name, data)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Parse(%s) = %+v, %v; want a *ValidationError", name, cfg, err)
			}
			got := verr.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".errors"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors for %s:\n%s\nwant (%s):\n%s", name, got, golden, want)
			}
		})
	}
}
