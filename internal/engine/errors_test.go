package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/stagecoach/stagecoach/internal/testenv"

	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// TestIsConcurrentUpdateSeesThroughWrapping gets a real "stack is locked" error from the CLI and checks
// it is recognised however it is wrapped.
func TestIsConcurrentUpdateSeesThroughWrapping(t *testing.T) {
	t.Parallel()
	tools, err := toolchain.Find(context.Background(), toolchain.Options{})
	if tools.Pulumi == "" {
		testenv.SkipOrFail(t, "the real Pulumi engine is not available: %v", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	cmd, err := newPulumiCommand(ctx, tools.Pulumi, commandOptions{cancelGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	stack, err := auto.UpsertStackInlineSource(ctx, "organization/locked/dev", "locked",
		func(*pulumi.Context) error { return nil },
		auto.Pulumi(cmd), auto.WorkDir(t.TempDir()), auto.PulumiHome(filepath.Join(dir, "home")),
		auto.EnvVars(map[string]string{"PULUMI_BACKEND_URL": "file://" + state, "PULUMI_CONFIG_PASSPHRASE": "p"}))
	if err != nil {
		t.Fatal(err)
	}
	lockDir := filepath.Join(state, ".pulumi", "locks", "organization", "locked", "dev")
	if err := os.MkdirAll(lockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lock := `{"pid":1,"username":"ghost","hostname":"gone","timestamp":"2026-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(lockDir, "dead.json"), []byte(lock), 0o600); err != nil {
		t.Fatal(err)
	}
	_, raw := stack.Up(ctx)
	if raw == nil {
		t.Fatal("Up on a locked stack succeeded")
	}
	for name, err := range map[string]error{
		"raw":                  raw,
		"wrapped twice":        fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", raw)),
		"joined":               errors.Join(errors.New("other"), raw),
		"in an OperationError": &OperationError{Err: fmt.Errorf("%w: %w", context.Canceled, raw)},
	} {
		if !IsConcurrentUpdate(err) {
			t.Errorf("%s: IsConcurrentUpdate = false for %v", name, err)
		}
	}
	if got := plainError(ctx, raw); got != "the stack is locked by another update" {
		t.Errorf("plainError = %q", got)
	}
	if IsConcurrentUpdate(errors.New("the stack is currently locked by 1 lock(s)")) || IsConcurrentUpdate(nil) {
		t.Error("IsConcurrentUpdate matched an error that is not the CLI's")
	}
}

func TestPlainError(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	lost, loseLease := context.WithCancelCause(context.Background())
	loseLease(ErrLeaseLost)
	bg := context.Background()
	for _, tt := range []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{cancelled, errors.New("exit status 1"), "the operation was cancelled"},
		{lost, errors.New("exit status 1"), "the operation was stopped because its stack lease could not be renewed"},
		{bg, fmt.Errorf("x: %w", context.DeadlineExceeded), "the operation timed out"},
		{bg, errors.New("failed to run update: exit status 255\ncode: 255\nstdout: \nstderr: error: could not load plugin aws\nerror: second\n"),
			"could not load plugin aws; second"},
		{bg, errors.New("something odd\nmore detail"), "something odd"},
	} {
		if got := plainError(tt.ctx, tt.err); got != tt.want {
			t.Errorf("plainError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	run := func(*pulumi.Context) error { return nil }
	for _, tt := range []struct {
		name     string
		req      Request
		needCode bool
		ok       bool
	}{
		{"inline", Request{Program: InlineProgram("app", run), Stack: "dev"}, true, true},
		{"local, qualified", Request{Program: LocalProgram("/src/infra"), Stack: "acme/app/pr-1"}, true, true},
		{"state only for destroy", Request{Program: StateOnly("app"), Stack: "dev"}, false, true},
		{"state only for up", Request{Program: StateOnly("app"), Stack: "dev"}, true, false},
		{"both directory and function", Request{Program: Program{Dir: "/x", Run: run}, Stack: "dev"}, true, false},
		{"no program", Request{Stack: "dev"}, false, false},
		{"bad project", Request{Program: InlineProgram("my app", run), Stack: "dev"}, true, false},
		{"two-part stack", Request{Program: StateOnly("app"), Stack: "app/dev"}, false, false},
		{"odd stack characters", Request{Program: StateOnly("app"), Stack: "dev;rm"}, false, false},
		{"odd config key", Request{Program: StateOnly("app"), Stack: "dev", Config: map[string]ConfigValue{"a b": {}}}, false, false},
		{"odd tag", Request{Program: StateOnly("app"), Stack: "dev", Tags: map[string]string{"a=b": ""}}, false, false},
	} {
		if err := tt.req.validate(tt.needCode); (err == nil) != tt.ok {
			t.Errorf("%s: validate = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestCopyTree(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(src, "Pulumi.yaml"), []byte("name: x\n"), 0o644))
	must(os.WriteFile(filepath.Join(src, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Symlink("sub/run.sh", filepath.Join(src, "run")))
	dst := filepath.Join(t.TempDir(), "copy")
	must(copyTree(src, dst))
	if b, err := os.ReadFile(filepath.Join(dst, "run")); err != nil || string(b) != "#!/bin/sh\n" {
		t.Errorf("copied link reads %q, %v", b, err)
	}
	if info, err := os.Stat(filepath.Join(dst, "sub", "run.sh")); err != nil || info.Mode().Perm()&0o100 == 0 {
		t.Errorf("mode of run.sh = %v, %v; want executable", info.Mode(), err)
	}
	must(os.Symlink("../../etc", filepath.Join(src, "escape")))
	if err := copyTree(src, filepath.Join(t.TempDir(), "copy")); err == nil {
		t.Error("copyTree copied a link leading out of the project")
	}
}
