package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/config"
)

func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out)
	return out.String(), err
}

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("help lists every setting with its default", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, nil, "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range config.Settings() {
			if !strings.Contains(out, s.Env) {
				t.Errorf("--help lacks %s", s.Env)
			}
			if s.Default != "" && !strings.Contains(out, s.Default) {
				t.Errorf("--help lacks the default %q of %s", s.Default, s.Env)
			}
		}
	})

	t.Run("each subcommand has help", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{"serve", "--help"}, {"doctor", "--help"}, {"config", "validate", "--help"}, {"toolchain", "install", "--help"}} {
			out, err := runCmd(t, nil, args...)
			if err != nil || !strings.Contains(out, "Usage: bot "+args[0]) {
				t.Errorf("%v: err = %v, output:\n%s", args, err, out)
			}
		}
	})

	t.Run("version prints one", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, nil, "version")
		if err != nil || !strings.HasPrefix(out, "stagecoach ") {
			t.Fatalf("%q, %v", out, err)
		}
	})

	t.Run("an unknown command is a usage error that points at --help", func(t *testing.T) {
		t.Parallel()
		_, err := runCmd(t, nil, "deploy-everything")
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "bot --help") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("serve refuses to start without a secret and says how to set one", func(t *testing.T) {
		t.Parallel()
		_, err := runCmd(t, map[string]string{"STAGECOACH_DATA_DIR": t.TempDir()}, "serve")
		if err == nil || !strings.Contains(err.Error(), "STAGECOACH_WEBHOOK_SECRET") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("serve reports every bad setting at once", func(t *testing.T) {
		t.Parallel()
		_, err := runCmd(t, map[string]string{"STAGECOACH_WORKERS": "many", "STAGECOACH_SHUTDOWN_TIMEOUT": "soon"}, "serve")
		if err == nil || !strings.Contains(err.Error(), "STAGECOACH_WORKERS") || !strings.Contains(err.Error(), "STAGECOACH_SHUTDOWN_TIMEOUT") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("version: 1\n"), 0o600)
	os.WriteFile(bad, []byte("version: 1\nenvironments:\n  - name: dev\n    soak: 3x\n  - name: dev\n"), 0o600)

	t.Run("a valid file exits 0", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, nil, "config", "validate", good)
		if err != nil || !strings.Contains(out, "valid") {
			t.Fatalf("%q, %v", out, err)
		}
	})
	t.Run("an invalid file prints every problem with its line and exits 1", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, nil, "config", "validate", bad)
		if !errors.Is(err, errReported) {
			t.Fatalf("err = %v", err)
		}
		for _, want := range []string{"bad.yaml:4", "soak", "bad.yaml:5", "dev"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("a missing file is named", func(t *testing.T) {
		t.Parallel()
		_, err := runCmd(t, nil, "config", "validate", filepath.Join(dir, "nope.yaml"))
		if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
			t.Fatalf("err = %v", err)
		}
	})
}
