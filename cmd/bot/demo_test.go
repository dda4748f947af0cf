package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/testenv/golden"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	if _, err := toolchain.Find(context.Background(), toolchain.Options{}); err != nil {
		testenv.SkipOrFail(t, "the Pulumi CLI is not installed (%v); run `bot toolchain install`", err)
	}
	t.Run("plays a pull request from opening to teardown and says GitHub is simulated", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"demo"}, func(string) string { return "" }, &out); err != nil {
			t.Fatalf("demo failed: %v\n%s", err, out.String())
		}
		text := out.String()
		for _, want := range []string{"GitHub is SIMULATED", "alice opens pull request #1", "**ready**",
			"https://pr-1.storefront.example.com", "edits its comment", "/preview of", "**destroyed**", ": inactive", "✔ done"} {
			if !strings.Contains(text, want) {
				t.Errorf("the demo's output lacks %q:\n%s", want, text)
			}
		}
		if strings.Count(text, "comments on #1") != 1 {
			t.Errorf("the bot wrote more than one comment:\n%s", text)
		}
	})
	t.Run("--help describes it", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"demo", "--help"}, func(string) string { return "" }, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"GitHub is simulated", "--timeout starts after that", "not the one-time Pulumi CLI build"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("help lacks %q:\n%s", want, out.String())
			}
		}
	})
}

func TestDemoToolchain(t *testing.T) {
	t.Parallel()
	// The toolchain's real go-build path runs against a fake go command in an empty cache: nothing
	// is really built, and the demo's messages are those a user would see.
	withGo := func(t *testing.T, script string) toolchain.Options {
		if runtime.GOOS == "windows" {
			t.Skip("the fake go command is a shell script")
		}
		found := map[string]string{}
		if script != "" {
			path := filepath.Join(t.TempDir(), "go")
			if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			found["go"] = path
		}
		return toolchain.Options{CacheDir: t.TempDir(), DisableDownload: true, LookPath: func(name string) (string, error) {
			if p, ok := found[name]; ok {
				return p, nil
			}
			return "", exec.ErrNotFound
		}}
	}
	demo := func(ctx context.Context, o toolchain.Options) (string, error) {
		var out bytes.Buffer
		o.Progress = &out
		_, err := demoTools(ctx, o, &out)
		if err == nil {
			return out.String(), errors.New("no error")
		}
		return out.String(), err
	}
	assert := func(t *testing.T, out string, err error, wants ...string) {
		t.Helper()
		for _, want := range []string{"First, once:", "about 4 minutes on an idle 2-core machine", "--timeout starts after this", "building Pulumi CLI v"} {
			if !strings.Contains(out, want) {
				t.Errorf("before the build, the output lacks %q:\n%s", want, out)
			}
		}
		for _, want := range append(wants, "go run ./cmd/bot doctor") {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the error lacks %q:\n%v", want, err)
			}
		}
	}

	t.Run("an interrupted build says it was interrupted, not that something crashed", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel() // Ctrl-C before the build; internal/toolchain's tests interrupt a running one
		text, err := demo(ctx, withGo(t, "exec sleep 600"))
		assert(t, text, err, "was stopped after", "because it was interrupted", "nothing was installed",
			"leaving the build time to finish", "go run ./cmd/bot toolchain install")
	})
	t.Run("a build killed from outside points at memory", func(t *testing.T) {
		t.Parallel()
		text, err := demo(t.Context(), withGo(t, "kill -KILL $$"))
		assert(t, text, err, "killed from outside", "signal: killed", "out-of-memory", "GOFLAGS=-p=1 go run ./cmd/bot toolchain install")
	})
	t.Run("a compile error shows the go command's output and the way around it", func(t *testing.T) {
		t.Parallel()
		text, err := demo(t.Context(), withGo(t, `echo "main.go:3:2: undefined: frobnicate" >&2; exit 1`))
		assert(t, text, err, "failed after", "undefined: frobnicate", "GOPROXY", "STAGECOACH_PULUMI_COMMAND")
	})
	t.Run("no go command says to install Go", func(t *testing.T) {
		t.Parallel()
		text, err := demo(t.Context(), withGo(t, ""))
		assert(t, text, err, "needs the go command", "install Go (https://go.dev/dl/)")
	})
	t.Run("a missing YAML host alone is announced as the short build it is", func(t *testing.T) {
		t.Parallel()
		o := withGo(t, "exit 1")
		goCmd, _ := o.LookPath("go")
		pulumi := filepath.Join(t.TempDir(), "pulumi")
		if err := os.WriteFile(pulumi, []byte("#!/bin/sh\necho v"+toolchain.PulumiVersion+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		o.LookPath = func(name string) (string, error) {
			switch name {
			case "go":
				return goCmd, nil
			case "pulumi":
				return pulumi, nil
			}
			return "", exec.ErrNotFound
		}
		text, err := demo(t.Context(), o)
		if !strings.Contains(text, "the Pulumi YAML language host v"+toolchain.YAMLVersion+" is not installed yet") ||
			strings.Contains(text, "about 4 minutes") || !strings.Contains(err.Error(), "building Pulumi YAML language host") {
			t.Errorf("output:\n%s\nerror: %v", text, err)
		}
	})
	t.Run("a cached toolchain is used without the first-time notice", func(t *testing.T) {
		t.Parallel()
		o := toolchain.Options{}
		if _, err := toolchain.Find(t.Context(), o); err != nil {
			testenv.SkipOrFail(t, "the Pulumi CLI is not installed (%v); run `bot toolchain install`", err)
		}
		var out bytes.Buffer
		o.Progress = &out
		if _, err := demoTools(t.Context(), o, &out); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "First, once") {
			t.Errorf("the first-time notice shows with a cached toolchain:\n%s", out.String())
		}
	})
	t.Run("each failure's message and advice", func(t *testing.T) {
		t.Parallel()
		var b strings.Builder
		for _, why := range []toolchain.BuildFailure{toolchain.BuildStopped, toolchain.BuildKilled, toolchain.BuildNoGo, toolchain.BuildFailed} {
			cause := map[toolchain.BuildFailure]error{
				toolchain.BuildStopped: context.Canceled,
				toolchain.BuildKilled:  errors.New("go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi: signal: killed"),
				toolchain.BuildNoGo:    exec.ErrNotFound,
				toolchain.BuildFailed:  errors.New("go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi: exit status 1\nmain.go:3:2: undefined: frobnicate"),
			}[why]
			err := &toolchain.BuildError{Tool: "Pulumi CLI v" + toolchain.PulumiVersion, Why: why, Elapsed: 7*time.Minute + 3*time.Second, Err: cause}
			fmt.Fprintf(&b, "=== %s\n%v\n\n%s\n\n", why, err, toolchainAdvice(err))
		}
		fmt.Fprintf(&b, "=== another error\n%s\n", toolchainAdvice(errors.New(`STAGECOACH_PULUMI_COMMAND="/nowhere": not found`)))
		golden.Assert(t, filepath.Join("testdata", "demo-toolchain-failures.golden"), b.String())
	})
}
