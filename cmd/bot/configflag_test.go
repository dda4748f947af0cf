package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stack named like a flag would reach the Pulumi CLI as one: `bot config validate` refuses it.
func TestConfigValidateRefusesAStackThatIsAFlag(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), ".stagecoach.yaml")
	if err := os.WriteFile(file, []byte("version: 1\nenvironments:\n  - name: dev\n    stack: --help\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, nil, "config", "validate", file)
	if !errors.Is(err, errReported) {
		t.Fatalf("err = %v, output:\n%s", err, out)
	}
	if want := `.stagecoach.yaml:4:12: environments[0].stack: invalid stack name "--help": it must not start with '-'`; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}
