package toolchain

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/gofrs/flock"
)

const (
	pulumiBinary = "pulumi"
	yamlBinary   = "pulumi-language-yaml"
	isWindows    = runtime.GOOS == "windows"
)

// wrappers holds the wrapper modules the tools are built from. Their go.mod and go.sum are stored
// under other names: a directory holding a go.mod would be a separate module that go:embed cannot read.
//
//go:embed wrapper/pulumi/go.mod.txt wrapper/pulumi/go.sum.txt wrapper/pulumi-yaml/go.mod.txt wrapper/pulumi-yaml/go.sum.txt
var wrappers embed.FS

// target is one tool in the cache: where it lives and how to build it.
type target struct {
	name    string // human name for progress lines
	dir     string // directory name inside the cache, e.g. "pulumi-v3.274.1"
	binary  string // file name inside dir, without .exe
	wrapper string // directory in wrappers holding go.mod.txt and go.sum.txt
	pkg     string // package to build inside the wrapper module
	ldflags string // -ldflags value setting the version

	checkVersion bool // the binary answers `version` with the pinned version
}

func cliTarget() target {
	return target{
		name:    "Pulumi CLI v" + PulumiVersion,
		dir:     "pulumi-v" + PulumiVersion,
		binary:  pulumiBinary,
		wrapper: "wrapper/pulumi",
		pkg:     "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
		ldflags: "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v" + PulumiVersion,

		checkVersion: true,
	}
}

func yamlTarget() target {
	return target{
		name:    "Pulumi YAML language host v" + YAMLVersion,
		dir:     "pulumi-yaml-v" + YAMLVersion,
		binary:  yamlBinary,
		wrapper: "wrapper/pulumi-yaml",
		pkg:     "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml",
		ldflags: "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=v" + YAMLVersion,
	}
}

func (o Options) dir(t target) string  { return filepath.Join(o.CacheDir, t.dir) }
func (o Options) path(t target) string { return filepath.Join(o.CacheDir, t.dir, exe(t.binary)) }

func exe(name string) string {
	if isWindows {
		return name + ".exe"
	}
	return name
}

// withLock runs fn holding the target's file lock. A process that has to wait says so on Progress.
func withLock(ctx context.Context, o Options, t target, fn func() error) error {
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return fmt.Errorf("creating toolchain cache %s: %w", o.CacheDir, err)
	}
	lock := flock.New(filepath.Join(o.CacheDir, t.dir+".lock"))
	ok, err := lock.TryLock()
	if err != nil {
		return fmt.Errorf("locking %s: %w", lock.Path(), err)
	}
	if !ok {
		fmt.Fprintf(o.Progress, "toolchain: waiting for another process installing %s (lock %s)\n", t.name, lock.Path())
		start := o.now()
		if ok, err = lock.TryLockContext(ctx, 200*time.Millisecond); err != nil || !ok {
			return fmt.Errorf("waiting for lock %s: %w", lock.Path(), errors.Join(err, ctx.Err()))
		}
		fmt.Fprintf(o.Progress, "toolchain: lock for %s acquired after %s\n", t.name, o.now().Sub(start).Round(time.Second))
	}
	defer func() {
		if err := lock.Unlock(); err != nil {
			o.Logger.Warn("unlocking toolchain cache", "lock", lock.Path(), "err", err)
		}
	}()
	return fn()
}

// installCLI puts the pinned CLI into the cache: another process may just have done it; otherwise
// download it, and when that fails build it. It returns how the CLI got there.
func installCLI(ctx context.Context, o Options) (Source, error) {
	t := cliTarget()
	src := SourceCache
	err := withLock(ctx, o, t, func() error {
		if v, err := probeVersion(ctx, o.path(t)); err == nil && v.String() == PulumiVersion {
			return nil // installed while we waited
		}
		var failures []error
		if !o.DisableDownload {
			err := installDownload(ctx, o, t)
			if err == nil {
				src = SourceDownload
				return nil
			}
			o.Logger.Info("downloading the pulumi CLI failed; building it", "err", err)
			fmt.Fprintf(o.Progress, "toolchain: download failed (%v)\n", err)
			failures = append(failures, fmt.Errorf("download: %w", err))
		}
		if o.DisableBuild {
			failures = append(failures, errors.New("building from the Go module proxy is disabled"))
			return &notFoundError{msg: fmt.Sprintf("pulumi CLI %v and not installable: %v", ErrNotFound, errors.Join(failures...))}
		}
		if err := installBuild(ctx, o, t); err != nil {
			return err
		}
		src = SourceBuild
		return nil
	})
	return src, err
}

// installYAML puts the pinned YAML language host into the cache, building it unless another
// process just did. It returns how the host got there.
func installYAML(ctx context.Context, o Options) (Source, error) {
	t := yamlTarget()
	src := SourceCache
	err := withLock(ctx, o, t, func() error {
		if isExecutable(o.path(t)) {
			return nil // installed while we waited
		}
		if o.DisableBuild {
			return &notFoundError{msg: fmt.Sprintf("pulumi-language-yaml %v and building from the Go module proxy is disabled", ErrNotFound)}
		}
		if err := installBuild(ctx, o, t); err != nil {
			return err
		}
		src = SourceBuild
		return nil
	})
	return src, err
}

// installDownload runs the download into a scratch root and moves the bundle's binaries into the
// CLI's cache directory, language hosts first and pulumi last.
func installDownload(ctx context.Context, o Options, t target) error {
	fmt.Fprintf(o.Progress, "toolchain: trying to download %s from get.pulumi.com\n", t.name)
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return err
	}
	root, err := os.MkdirTemp(o.CacheDir, ".download-*")
	if err != nil {
		return fmt.Errorf("creating download directory: %w", err)
	}
	defer os.RemoveAll(root)
	if err := o.download(ctx, root); err != nil {
		return err
	}
	bin := filepath.Join(root, "bin")
	entries, err := os.ReadDir(bin)
	if err != nil {
		return fmt.Errorf("reading downloaded bundle: %w", err)
	}
	if _, err := probeVersion(ctx, filepath.Join(bin, exe(t.binary))); err != nil {
		return fmt.Errorf("downloaded CLI: %w", err)
	}
	if err := os.MkdirAll(o.dir(t), 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == exe(t.binary) || e.IsDir() {
			continue
		}
		if err := os.Rename(filepath.Join(bin, e.Name()), filepath.Join(o.dir(t), e.Name())); err != nil {
			return fmt.Errorf("installing downloaded %s: %w", e.Name(), err)
		}
	}
	if err := os.Rename(filepath.Join(bin, exe(t.binary)), o.path(t)); err != nil {
		return fmt.Errorf("installing downloaded CLI: %w", err)
	}
	fmt.Fprintf(o.Progress, "toolchain: downloaded %s to %s\n", t.name, o.path(t))
	return nil
}

// linkYAML makes the cached YAML host appear next to our CLI, where the CLI looks for bundled hosts.
func linkYAML(ctx context.Context, o Options, t Tools) error {
	if t.YAMLHost == "" || t.Pulumi == "" {
		return nil
	}
	return withLock(ctx, o, cliTarget(), func() error { return link(t) })
}

func link(t Tools) error {
	real, err := filepath.EvalSymlinks(t.Pulumi)
	if err != nil {
		return err
	}
	link := filepath.Join(filepath.Dir(real), exe(yamlBinary))
	if sameFile(link, t.YAMLHost) {
		return nil
	}
	rel, err := filepath.Rel(filepath.Dir(link), t.YAMLHost)
	if err != nil {
		rel = t.YAMLHost
	}
	tmp := link + ".tmp-link"
	_ = os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		if err := os.Link(t.YAMLHost, tmp); err != nil {
			return fmt.Errorf("linking %s to %s: %w", link, t.YAMLHost, err)
		}
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("linking %s to %s: %w", link, t.YAMLHost, err)
	}
	return nil
}
