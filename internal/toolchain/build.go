package toolchain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// installBuild builds t into a temporary file next to its final place, checks it, and renames it
// into place. Progress gets a line at the start, one every progressEvery, and one at the end.
func installBuild(ctx context.Context, o Options, t target) error {
	dir := o.dir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+t.binary+"-*.tmp")
	if err != nil {
		return fmt.Errorf("creating build output in %s: %w", dir, err)
	}
	out := tmp.Name()
	tmp.Close()
	defer os.Remove(out) // a no-op once renamed

	start := o.now()
	fmt.Fprintf(o.Progress, "toolchain: building %s from the Go module proxy into %s (first time only; takes minutes)\n", t.name, dir)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(o.progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(o.Progress, "toolchain: still building %s (%s elapsed)\n", t.name, o.now().Sub(start).Round(time.Second))
			}
		}
	})
	err = o.build(ctx, t, out)
	close(done)
	wg.Wait()
	if err != nil {
		return newBuildError(ctx, t, o.now().Sub(start), err)
	}
	if err := os.Chmod(out, 0o755); err != nil {
		return fmt.Errorf("installing %s: %w", t.name, err)
	}
	if t.checkVersion {
		v, err := probeVersion(ctx, out)
		if err != nil {
			return fmt.Errorf("checking the built %s: %w", t.name, err)
		}
		if v.String() != PulumiVersion {
			return fmt.Errorf("checking the built %s: it reports v%s", t.name, v)
		}
	} else if info, err := os.Stat(out); err != nil || info.Size() == 0 {
		return fmt.Errorf("building %s: no output in %s", t.name, out)
	}
	if err := os.Rename(out, o.path(t)); err != nil {
		return fmt.Errorf("installing %s: %w", t.name, err)
	}
	fmt.Fprintf(o.Progress, "toolchain: built %s in %s: %s\n", t.name, o.now().Sub(start).Round(time.Second), o.path(t))
	return nil
}

// goBuild returns the real builder: it writes the embedded wrapper module to a scratch directory
// and runs `go build -mod=readonly` there, so the embedded go.sum is authoritative.
func goBuild(o Options) func(ctx context.Context, t target, out string) error {
	return func(ctx context.Context, t target, out string) error {
		goBin, err := o.LookPath("go")
		if err != nil {
			return fmt.Errorf("%w: %w", errNoGo, err)
		}
		work, err := os.MkdirTemp(o.CacheDir, ".build-"+t.binary+"-*")
		if err != nil {
			return fmt.Errorf("creating build directory: %w", err)
		}
		defer os.RemoveAll(work)
		for _, name := range []string{"go.mod", "go.sum"} {
			data, err := wrappers.ReadFile(path.Join(t.wrapper, name+".txt"))
			if err != nil {
				return fmt.Errorf("reading embedded wrapper %s: %w", name, err)
			}
			if err := os.WriteFile(filepath.Join(work, name), data, 0o644); err != nil {
				return fmt.Errorf("writing wrapper %s: %w", name, err)
			}
		}
		cmd := exec.CommandContext(ctx, goBin, "build", "-mod=readonly", "-o", out, "-ldflags", t.ldflags, t.pkg)
		cmd.Dir = work
		// GOWORK=off: a go.work above the cache must not pull the wrapper into someone else's workspace.
		cmd.Env = append(os.Environ(), "GOWORK=off")
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", t.pkg, err, tail(output.Bytes(), 4000))
		}
		return nil
	}
}

// errNoGo marks a build that could not start because no go command is on PATH.
var errNoGo = errors.New("the go command is not on PATH")

// BuildFailure says why a build from the Go module proxy failed, so that a caller can say what to do.
type BuildFailure string

// The ways a build fails.
const (
	// BuildStopped: the caller's context ended (a timeout or an interrupt) and the go command was killed.
	BuildStopped BuildFailure = "stopped"
	// BuildKilled: the go command was killed by a signal nobody in this process sent, most often the
	// kernel's out-of-memory killer.
	BuildKilled BuildFailure = "killed"
	// BuildNoGo: there is no go command to build with.
	BuildNoGo BuildFailure = "no go"
	// BuildFailed: go build ran and failed (a compile error, a module it could not download).
	BuildFailed BuildFailure = "failed"
)

// BuildError is a failed build of the CLI or the YAML host. Its message says in plain words what
// happened; nothing was installed.
type BuildError struct {
	// Tool is what was being built, e.g. "Pulumi CLI v3.274.1".
	Tool string
	// Why tells the kind of failure.
	Why BuildFailure
	// Elapsed is how long the build ran.
	Elapsed time.Duration
	// Err is the underlying error: the context's, or the go command's with the end of its output.
	Err error
}

func (e *BuildError) Error() string {
	took := e.Elapsed.Round(time.Second)
	switch e.Why {
	case BuildStopped:
		why := "it was interrupted"
		if errors.Is(e.Err, context.DeadlineExceeded) {
			why = "the time allowed for it ran out"
		}
		return fmt.Sprintf("building %s was stopped after %s because %s; nothing was installed, and the next run builds again "+
			"(faster, reusing what Go compiled so far)",
			e.Tool, took, why)
	case BuildKilled:
		return fmt.Sprintf("building %s: the go command was killed from outside after %s (%v), most often by the out-of-memory killer; "+
			"free memory or build one package at a time (GOFLAGS=-p=1) and try again", e.Tool, took, e.Err)
	case BuildNoGo:
		return fmt.Sprintf("building %s needs the go command, which is not on PATH: install Go, or set STAGECOACH_PULUMI_COMMAND "+
			"to a pulumi v%s binary (%v)", e.Tool, PulumiVersion, e.Err)
	}
	return fmt.Sprintf("building %s failed after %s: %v", e.Tool, took, e.Err)
}

func (e *BuildError) Unwrap() error { return e.Err }

// newBuildError classifies a build's failure: ctx is the context the build ran under.
func newBuildError(ctx context.Context, t target, elapsed time.Duration, err error) *BuildError {
	e := &BuildError{Tool: t.name, Why: BuildFailed, Elapsed: elapsed, Err: err}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		e.Why, e.Err = BuildStopped, context.Cause(ctx)
	case errors.Is(err, errNoGo):
		e.Why = BuildNoGo
	case errors.As(err, &exit) && exit.ExitCode() == -1:
		e.Why = BuildKilled
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && (ws.Signal() == syscall.SIGINT || ws.Signal() == syscall.SIGTERM) {
			// Ctrl-C reaches the whole process group: the go command may die of it before ctx says so.
			e.Why, e.Err = BuildStopped, fmt.Errorf("%w (%v)", context.Canceled, err)
		}
	}
	return e
}

// tail is the last n bytes of b, starting at a line boundary when possible.
func tail(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	b = b[len(b)-n:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return b
}
