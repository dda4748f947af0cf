package repoconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/testenv/golden"
)

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
			golden.Assert(t, strings.TrimSuffix(file, ".yaml")+".errors", got)
		})
	}
}
