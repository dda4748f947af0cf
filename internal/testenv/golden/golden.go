// Package golden compares what a test produced with a file kept beside the test (a golden file),
// and rewrites that file instead when the test binary runs with -update:
//
//	go test ./internal/render -update
//
// Review the rewritten files with git diff before committing them.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the one -update flag of every package whose tests use golden files.
var update = flag.Bool("update", false, "rewrite the golden files from the current output")

// Assert reports an error on t when got differs from the file at path (relative to the package
// directory, usually under testdata). Under -update it writes got to path instead, creating the
// directory, and compares nothing.
func Assert(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("creating the directory of golden file %s: %v", path, err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("writing golden file %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file %s (run the test with -update to create it): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("output differs from golden file %s (run the test with -update to accept it, then review git diff):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}
