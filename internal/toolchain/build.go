package toolchain

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
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
		return fmt.Errorf("building %s: %w", t.name, err)
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
			return fmt.Errorf("the go command is needed to build the Pulumi toolchain and is not on PATH "+
				"(install Go, or set STAGECOACH_PULUMI_COMMAND to a pulumi v%s binary): %w", PulumiVersion, err)
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
