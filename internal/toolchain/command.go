package toolchain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// Command returns the CLI as an auto.PulumiCommand for auto.Pulumi(...). auto.NewPulumiCommand
// wants a <root>/bin/pulumi layout; this one runs t.Pulumi wherever it is, with LanguageDirs and
// the CLI's directory in front of PATH. It otherwise behaves like the Automation API's own command:
// --non-interactive, PULUMI_AUTOMATION_API=true, SIGINT on cancellation and a 10 s grace period.
func (t Tools) Command() (auto.PulumiCommand, error) {
	if t.Pulumi == "" {
		return nil, errors.New("no pulumi CLI resolved: run toolchain.Ensure or toolchain.Find first")
	}
	v, err := semver.ParseTolerant(t.Version)
	if err != nil {
		return nil, fmt.Errorf("pulumi CLI version %q: %w", t.Version, err)
	}
	return command{tools: t, version: v}, nil
}

type command struct {
	tools   Tools
	version semver.Version
}

// Version is the CLI's version.
func (c command) Version() semver.Version { return c.version }

// Run runs the CLI with args in workdir and returns its stdout, stderr and exit code.
func (c command) Run(ctx context.Context, workdir string, stdin io.Reader,
	additionalOutput, additionalErrorOutput []io.Writer, additionalEnv []string, args ...string,
) (string, string, int, error) {
	if !slices.Contains(args[:indexOrLen(args, "--")], "--non-interactive") {
		args = append([]string{"--non-interactive"}, args...)
	}
	cmd := exec.CommandContext(ctx, c.tools.Pulumi, args...)
	cmd.Dir = workdir
	cmd.Env = withPath(append(append(os.Environ(), additionalEnv...), "PULUMI_AUTOMATION_API=true"), c.tools)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(append(additionalOutput, &stdout)...)
	cmd.Stderr = io.MultiWriter(append(additionalErrorOutput, &stderr)...)
	cmd.Stdin = stdin
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	code := -2 // what the Automation API reports when the CLI did not exit on its own
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exitErr.ExitCode()
	} else if err == nil {
		code = 0
	}
	return stdout.String(), stderr.String(), code, err
}

// withPath replaces every PATH entry of env with one whose value is the last PATH seen, prefixed
// with the tools' directories.
func withPath(env []string, t Tools) []string {
	path := ""
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if len(kv) >= 5 && strings.EqualFold(kv[:5], "PATH=") {
			path = kv[5:]
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+t.PrependPath(path))
}

func indexOrLen(s []string, v string) int {
	if i := slices.Index(s, v); i >= 0 {
		return i
	}
	return len(s)
}
