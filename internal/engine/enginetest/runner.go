package enginetest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// Passphrase is the passphrase of the Runners Config makes.
const Passphrase = "enginetest-passphrase"

// Tools returns the pinned Pulumi CLI and YAML language host, building them on first use (several
// minutes, cached under the user cache directory). The test is skipped, saying why, when they cannot be had.
func Tools(t testing.TB) toolchain.Tools {
	t.Helper()
	tools, err := toolchain.Ensure(context.Background(), toolchain.Options{})
	if err != nil {
		testenv.SkipOrFail(t, "the real Pulumi engine is not available (set STAGECOACH_PULUMI_COMMAND or run `bot toolchain install`): %v", err)
	}
	return tools
}

// Config returns a Runner configuration for the real engine with everything in the test's temporary
// directory: a file backend, passphrase secrets, a private PULUMI_HOME and work directory.
func Config(t testing.TB) engine.Config {
	t.Helper()
	tools := Tools(t)
	dir := t.TempDir()
	return engine.Config{
		PulumiCommand: tools.Pulumi,
		LanguageDirs:  tools.LanguageDirs,
		BackendURL:    "file://" + filepath.ToSlash(filepath.Join(dir, "state")),
		Passphrase:    Passphrase,
		PulumiHome:    filepath.Join(dir, "home"),
		WorkDir:       filepath.Join(dir, "work"),
	}
}

// NewRunner returns a Runner on cfg with fresh in-memory leases and logs, logging to the test.
func NewRunner(t testing.TB, cfg engine.Config) (*engine.Runner, *Leases, *Logs) {
	t.Helper()
	leases, logs := NewLeases(nil), NewLogs()
	r, err := engine.New(cfg, leases, logs, slog.New(slog.NewTextHandler(testWriter{t}, nil)), nil)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return r, leases, logs
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
