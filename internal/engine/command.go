package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// minimumPulumiVersion is the oldest CLI the Runner accepts: inline Destroy and Refresh need it,
// and a CLI built without its version ldflag reports 0.0.0.
var minimumPulumiVersion = semver.MustParse("3.181.0")

// pipeDrainTimeout bounds reading a CLI's output after it exited or was killed.
const pipeDrainTimeout = 5 * time.Second

// pulumiCommand runs the configured pulumi binary for the Automation API. It differs from the SDK's own
// in three ways: the binary may live anywhere (the toolchain cache has no bin/ directory), PATH gets the
// language host directories, and the variables the Runner manages are never inherited from this process.
type pulumiCommand struct {
	path        string
	version     semver.Version
	pathPrefix  []string      // directories put in front of PATH
	cancelGrace time.Duration // time between SIGINT and SIGKILL when the context ends
}

var _ auto.PulumiCommand = (*pulumiCommand)(nil)

// newPulumiCommand checks the binary's version and returns a command that runs it.
func newPulumiCommand(ctx context.Context, path string, languageDirs []string, cancelGrace time.Duration) (*pulumiCommand, error) {
	p := &pulumiCommand{
		path:        path,
		pathPrefix:  append(append([]string(nil), languageDirs...), filepath.Dir(path)),
		cancelGrace: cancelGrace,
	}
	stdout, stderr, _, err := p.Run(ctx, os.TempDir(), nil, nil, nil, nil, "version")
	if err != nil {
		return nil, fmt.Errorf("running %s version: %w: %s", path, err, strings.TrimSpace(stderr))
	}
	v, err := semver.ParseTolerant(strings.TrimSpace(stdout))
	if err != nil {
		return nil, fmt.Errorf("reading the version of %s from %q: %w", path, strings.TrimSpace(stdout), err)
	}
	if v.LT(minimumPulumiVersion) {
		return nil, fmt.Errorf("pulumi CLI %s is version %s; stagecoach needs at least %s (a CLI built without its version ldflag reports 0.0.0)",
			path, v, minimumPulumiVersion)
	}
	p.version = v
	return p, nil
}

// Version returns the CLI's version.
func (p *pulumiCommand) Version() semver.Version { return p.version }

// Run runs the CLI non-interactively in workdir. When ctx ends the CLI gets SIGINT, so it can cancel
// gracefully and release its lock, and is killed if it has not exited cancelGrace later (a killed CLI
// leaves its lock behind; the next operation holding the stack's lease clears it).
func (p *pulumiCommand) Run(ctx context.Context, workdir string, stdin io.Reader,
	additionalOutput, additionalErrorOutput []io.Writer, additionalEnv []string, args ...string,
) (string, string, int, error) {
	if !containsArg(args, "--non-interactive") {
		args = append([]string{"--non-interactive"}, args...)
	}
	cmd := exec.CommandContext(ctx, p.path, args...)
	cmd.Dir = workdir
	cmd.Env = p.environ(additionalEnv)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = io.MultiWriter(append(additionalOutput, &stdout)...)
	cmd.Stderr = io.MultiWriter(append(additionalErrorOutput, &stderr)...)
	cmd.Stdin = stdin
	var (
		mu   sync.Mutex
		kill *time.Timer
	)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			if errors.Is(err, os.ErrProcessDone) {
				return nil
			}
			return cmd.Process.Kill()
		}
		mu.Lock()
		defer mu.Unlock()
		kill = time.AfterFunc(p.cancelGrace, func() { _ = cmd.Process.Kill() })
		return nil
	}
	// Past the kill, WaitDelay only bounds reading what the dead CLI left in its pipes.
	cmd.WaitDelay = p.cancelGrace + pipeDrainTimeout
	err := cmd.Run()
	mu.Lock()
	if kill != nil {
		kill.Stop()
	}
	mu.Unlock()
	code := -2
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	}
	return stdout.String(), stderr.String(), code, err
}

// environ is this process's environment without the variables the Runner manages, plus additional
// (which the workspace fills with PULUMI_HOME, the backend, the passphrase and Config.Env), plus PATH.
func (p *pulumiCommand) environ(additional []string) []string {
	var env []string
	path := ""
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PATH" {
			path = v
			continue
		}
		if containsFold(managedEnv, k) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, additional...)
	dirs := append(append([]string(nil), p.pathPrefix...), filepath.SplitList(path)...)
	env = append(env, "PATH="+strings.Join(dirs, string(os.PathListSeparator)), "PULUMI_AUTOMATION_API=true")
	return env
}

func containsArg(args []string, arg string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == arg {
			return true
		}
	}
	return false
}
