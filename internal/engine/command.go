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

	"github.com/stagecoach/stagecoach/internal/remoteexec"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// minimumPulumiVersion is the oldest CLI the Runner accepts (toolchain.MinimumPulumiVersion).
var minimumPulumiVersion = semver.MustParse(toolchain.MinimumPulumiVersion)

// pipeDrainTimeout bounds reading a CLI's output after it exited or was killed.
const pipeDrainTimeout = 5 * time.Second

// pulumiCommand runs the configured pulumi binary for the Automation API. It differs from the SDK's own
// in four ways: the binary may live anywhere (the toolchain cache has no bin/ directory), PATH gets the
// language host directories, the environment is built from an allowlist instead of inherited (a pull
// request's program runs in these processes and must not find the bot's secrets), and the process may
// run as another user.
type pulumiCommand struct {
	path        string
	version     semver.Version
	pathPrefix  []string           // directories put in front of PATH
	cancelGrace time.Duration      // time between SIGINT and SIGKILL when the context ends
	inherit     []string           // globs of this process's variables passed on
	home, tmp   string             // HOME and TMPDIR of every process
	runAs       *runAs             // nil: this process's user
	remote      *remoteexec.Client // non-nil: processes run on this runner
}

var _ auto.PulumiCommand = (*pulumiCommand)(nil)

// commandOptions configure newPulumiCommand.
type commandOptions struct {
	languageDirs []string
	cancelGrace  time.Duration
	inherit      []string
	home, tmp    string
	runAs        *runAs
	runner       string // socket of the remote runner; "" runs processes here
}

// newPulumiCommand checks the binary's version and returns a command that runs it.
func newPulumiCommand(ctx context.Context, path string, o commandOptions) (*pulumiCommand, error) {
	p := &pulumiCommand{
		path:        path,
		pathPrefix:  append(append([]string(nil), o.languageDirs...), filepath.Dir(path)),
		cancelGrace: o.cancelGrace,
		inherit:     o.inherit,
		home:        o.home,
		tmp:         o.tmp,
		runAs:       o.runAs,
	}
	if o.runner != "" {
		p.remote = &remoteexec.Client{Socket: o.runner}
	}
	dir := o.tmp
	if dir == "" {
		dir = os.TempDir()
	}
	stdout, stderr, _, err := p.Run(ctx, dir, nil, nil, nil, nil, "version")
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
	args = flagSafe(args)
	env := childEnv(os.Environ(), p.inherit, p.pathPrefix, p.home, p.tmp, additionalEnv)
	var stdout, stderr bytes.Buffer
	outW := io.MultiWriter(append(additionalOutput, &stdout)...)
	errW := io.MultiWriter(append(additionalErrorOutput, &stderr)...)
	if p.remote != nil {
		code, err := p.remote.Run(ctx, remoteexec.Request{Args: args, Dir: workdir, Env: env, Grace: p.cancelGrace}, stdin, outW, errW)
		return stdout.String(), stderr.String(), code, err
	}
	cmd := exec.CommandContext(ctx, p.path, args...)
	cmd.Dir = workdir
	cmd.Env = env
	cmd.SysProcAttr = p.runAs.sysProcAttr()
	cmd.Stdout = outW
	cmd.Stderr = errW
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

// valueFlags are the flags the Automation API passes with their value as the next argument; flagSafe
// joins them as --flag=value so the value can never be read as a flag of its own.
// (--plaintext and --secret take a value only in "config set-all").
var valueFlags = []string{"--stack", "--message", "--secrets-provider", "--config-file"}

// flagSafe rewrites the Automation API's arguments so that no name taken from a request is read as a
// flag: "--stack NAME" becomes "--stack=NAME", and the positional name of "stack init NAME" becomes
// "--stack=NAME". Requests are validated before (no leading '-'); this is defence in depth.
func flagSafe(args []string) []string {
	flags := valueFlags
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "config" && args[i+1] == "set-all" {
			flags = append(append([]string(nil), valueFlags...), "--plaintext", "--secret")
			break
		}
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if containsArg(flags, a) && i+1 < len(args) {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	// "stack init NAME": the SDK's CreateStack, the only command taking a stack name as a positional argument.
	for i := 0; i+2 < len(out); i++ {
		if out[i] == "stack" && out[i+1] == "init" && !strings.HasPrefix(out[i+2], "--stack=") {
			out[i+2] = "--stack=" + out[i+2]
			break
		}
	}
	return out
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
