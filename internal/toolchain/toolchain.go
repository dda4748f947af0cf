// Package toolchain finds, downloads or builds the pinned Pulumi CLI and the YAML language host.
//
// Resolution order for the CLI: Options.Command (STAGECOACH_PULUMI_COMMAND), then `pulumi` on PATH,
// then the pinned version in the cache directory. Ensure additionally fills an empty cache: it tries
// auto.InstallPulumiCommand (which needs get.pulumi.com), then builds the pinned CLI and YAML host from
// the Go module proxy using the wrapper modules embedded in this package. Builds hold a file lock, so
// parallel processes build once; the others wait and then find the result.
//
// Cache layout (CacheDir defaults to $(os.UserCacheDir())/stagecoach/toolchain):
//
//	pulumi-v3.274.1/pulumi                         the CLI
//	pulumi-v3.274.1/pulumi-language-yaml           symlink to the YAML host, so the CLI finds it as "bundled"
//	pulumi-yaml-v1.25.0/pulumi-language-yaml       the YAML language host
//	pulumi-v3.274.1.lock, pulumi-yaml-v1.25.0.lock lock files held while installing
package toolchain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Pinned versions. The embedded wrapper modules pin the same versions.
const (
	// PulumiVersion is the Pulumi CLI version stagecoach is built and tested against.
	PulumiVersion = "3.274.1"
	// YAMLVersion is the pulumi-yaml release whose language host stagecoach builds.
	YAMLVersion = "1.25.0"
	// MinimumPulumiVersion is the oldest CLI accepted from STAGECOACH_PULUMI_COMMAND or PATH, and by the engine:
	// inline Destroy, Refresh and PreviewRefresh need it.
	MinimumPulumiVersion = "3.181.0"
)

// Source tells where a tool came from.
type Source string

// Sources of the CLI and the YAML language host.
const (
	SourceEnv      Source = "env"      // Options.Command (STAGECOACH_PULUMI_COMMAND)
	SourcePath     Source = "path"     // found on PATH
	SourceCache    Source = "cache"    // the pinned version, already in the cache directory
	SourceDownload Source = "download" // installed now by auto.InstallPulumiCommand
	SourceBuild    Source = "build"    // built now from the Go module proxy
	SourceBundled  Source = "bundled"  // YAML host shipped next to the CLI binary
)

// ErrNotFound reports that the CLI or the YAML language host is missing and Find may not make it.
// Ensure makes what is missing; `bot toolchain install` runs Ensure.
var ErrNotFound = errors.New("not found")

// Options configure Find and Ensure. The zero value is usable: look on PATH, then in the default cache,
// and let Ensure download or build what is missing.
type Options struct {
	// Command is the Pulumi CLI to use (STAGECOACH_PULUMI_COMMAND): a path, or a name looked up on PATH.
	// When set it must work; there is no fallback. Default "": look for `pulumi` on PATH, then in the cache.
	Command string
	// CacheDir holds the pinned CLI and YAML host. Default $(os.UserCacheDir())/stagecoach/toolchain.
	CacheDir string
	// LookPath finds executables on PATH. Default exec.LookPath.
	LookPath func(file string) (string, error)
	// DisableDownload skips the auto.InstallPulumiCommand attempt in Ensure. Default false: try it.
	DisableDownload bool
	// DisableBuild forbids Ensure to build from the Go module proxy. Default false: build when needed.
	DisableBuild bool
	// Progress receives human-readable progress lines while Ensure downloads or builds
	// (what is happening, elapsed time every 15 s, where the result goes). Default io.Discard.
	Progress io.Writer
	// Logger records decisions at debug level and ignored tools at warn level. Default: discard.
	Logger *slog.Logger

	// Seams for tests; nil means the real thing.
	build         func(ctx context.Context, t target, out string) error // go build of a wrapper module
	download      func(ctx context.Context, root string) error          // installs the CLI bundle into root/bin
	progressEvery time.Duration                                         // default 15 s
	now           func() time.Time                                      // default time.Now
}

// Tools is what Find and Ensure resolved.
type Tools struct {
	// Pulumi is the absolute path of the pulumi binary.
	Pulumi string
	// Version is the CLI's version without a leading v, e.g. "3.274.1".
	Version string
	// Source tells where the CLI came from: env, path, cache, download or build.
	Source Source
	// YAMLHost is the absolute path of pulumi-language-yaml ("" when Find did not find it).
	YAMLHost string
	// YAMLSource tells where the YAML host came from: bundled, path, cache or build.
	YAMLSource Source
	// LanguageDirs are directories to prepend to the PATH of Pulumi processes so the CLI finds
	// its language hosts (Command does this already).
	LanguageDirs []string
	// Warnings are notes for the operator: a CLI that differs from the pinned version, a CLI on PATH
	// that was ignored, and the like. Nothing in them is secret.
	Warnings []string
}

// Find resolves the CLI and the YAML host without downloading or building anything.
// When either is missing the error satisfies errors.Is(err, ErrNotFound) and the returned Tools
// still holds what was found. A CLI configured in Options.Command that is missing or too old is
// an error that is not ErrNotFound: there is no fallback from an explicit setting.
func Find(ctx context.Context, o Options) (Tools, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Tools{}, err
	}
	var t Tools
	cliErr := findCLI(ctx, o, &t)
	yamlFound := findYAML(o, &t)
	if cliErr != nil {
		return t, cliErr
	}
	if !yamlFound {
		return t, fmt.Errorf("pulumi-language-yaml (the YAML language host) %w next to %s, on PATH or in %s",
			ErrNotFound, t.Pulumi, o.dir(yamlTarget()))
	}
	return t, nil
}

// Ensure resolves the CLI and the YAML host like Find and makes whatever is missing: it downloads the
// pinned CLI with auto.InstallPulumiCommand when get.pulumi.com is reachable, and otherwise builds the
// pinned CLI and YAML host from the Go module proxy into the cache (several minutes the first time).
func Ensure(ctx context.Context, o Options) (Tools, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Tools{}, err
	}
	var t Tools
	if err := findCLI(ctx, o, &t); err != nil {
		if !errors.Is(err, ErrNotFound) {
			return t, err
		}
		src, err := installCLI(ctx, o)
		if err != nil {
			return t, err
		}
		t = Tools{}
		if err := findCLI(ctx, o, &t); err != nil {
			return t, fmt.Errorf("pulumi CLI installed but not usable: %w", err)
		}
		t.Source = src
	}
	if !findYAML(o, &t) {
		src, err := installYAML(ctx, o)
		if err != nil {
			return t, err
		}
		if !findYAML(o, &t) {
			return t, fmt.Errorf("pulumi-language-yaml installed but not found in %s", o.dir(yamlTarget()))
		}
		t.YAMLSource = src
	}
	if t.Source != SourceEnv && t.Source != SourcePath && t.YAMLSource != SourceBundled {
		// Our CLI: link the YAML host next to it, so the CLI takes it as its bundled host and does not
		// warn about "using pulumi-language-yaml from $PATH" on every operation.
		if err := linkYAML(ctx, o, t); err != nil {
			o.Logger.Warn("linking the YAML host next to the pulumi CLI", "err", err)
		} else {
			src := t.YAMLSource
			findYAML(o, &t)
			if src == SourceBuild {
				t.YAMLSource = src
			}
		}
	}
	o.Logger.Debug("pulumi toolchain ready", "pulumi", t.Pulumi, "version", t.Version, "source", t.Source,
		"yaml_host", t.YAMLHost, "yaml_source", t.YAMLSource)
	return t, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return o, fmt.Errorf("finding the user cache directory for the pulumi toolchain (set HOME or XDG_CACHE_HOME): %w", err)
		}
		o.CacheDir = filepath.Join(dir, "stagecoach", "toolchain")
	}
	abs, err := filepath.Abs(o.CacheDir)
	if err != nil {
		return o, fmt.Errorf("toolchain cache directory %q: %w", o.CacheDir, err)
	}
	o.CacheDir = abs
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.build == nil {
		o.build = goBuild(o)
	}
	if o.download == nil {
		o.download = downloadCLI(o)
	}
	if o.progressEvery <= 0 {
		o.progressEvery = 15 * time.Second
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

// findCLI fills t.Pulumi, Version and Source, or fails with ErrNotFound (or a non-fallback error
// for a bad Options.Command).
func findCLI(ctx context.Context, o Options, t *Tools) error {
	if o.Command != "" {
		path, err := resolveCommand(o)
		if err != nil {
			return fmt.Errorf("STAGECOACH_PULUMI_COMMAND=%q: %w", o.Command, err)
		}
		v, err := probeVersion(ctx, path)
		if err != nil {
			return fmt.Errorf("STAGECOACH_PULUMI_COMMAND=%q: %w", o.Command, err)
		}
		setCLI(t, path, v, SourceEnv)
		return nil
	}
	var ignored []string
	if path, err := o.LookPath("pulumi"); err == nil {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		v, err := probeVersion(ctx, path)
		if err == nil {
			setCLI(t, path, v, SourcePath)
			return nil
		}
		note := fmt.Sprintf("ignoring pulumi on PATH: %v", err)
		o.Logger.Warn("ignoring pulumi on PATH", "path", path, "err", err)
		t.Warnings = append(t.Warnings, note)
		ignored = append(ignored, note)
	}
	cached := o.path(cliTarget())
	if _, err := os.Stat(cached); err == nil {
		v, err := probeVersion(ctx, cached)
		if err == nil && v.String() == PulumiVersion {
			setCLI(t, cached, v, SourceCache)
			return nil
		}
		if err == nil {
			err = fmt.Errorf("pulumi at %s reports v%s, not the pinned v%s", cached, v, PulumiVersion)
		}
		o.Logger.Warn("ignoring cached pulumi", "path", cached, "err", err)
		note := fmt.Sprintf("ignoring cached CLI: %v", err)
		t.Warnings = append(t.Warnings, note)
		ignored = append(ignored, note)
	}
	msg := fmt.Sprintf("pulumi CLI %v: not set in STAGECOACH_PULUMI_COMMAND, not on PATH, not in %s", ErrNotFound, cached)
	if len(ignored) > 0 {
		msg += " (" + strings.Join(ignored, "; ") + ")"
	}
	return &notFoundError{msg: msg}
}

func setCLI(t *Tools, path string, v version, src Source) {
	t.Pulumi, t.Version, t.Source = path, v.String(), src
	if v.String() != PulumiVersion {
		t.Warnings = append(t.Warnings, fmt.Sprintf(
			"pulumi at %s is v%s; stagecoach is tested with v%s", path, v, PulumiVersion))
	}
}

// resolveCommand turns Options.Command into an absolute path: names without a separator are looked
// up on PATH.
func resolveCommand(o Options) (string, error) {
	path := o.Command
	if !strings.ContainsRune(path, filepath.Separator) && !strings.ContainsRune(path, '/') {
		found, err := o.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("not on PATH: %w", err)
		}
		path = found
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("pulumi binary: %w", err)
	}
	if info.IsDir() {
		return "", fmt.Errorf("%s is a directory; give the path of the pulumi binary itself", abs)
	}
	return abs, nil
}

// findYAML fills t.YAMLHost, YAMLSource and LanguageDirs for the CLI in t and reports whether it
// found the YAML host. Order: next to the CLI (bundled, or our link), on PATH for a CLI we did not
// install, then the cache.
func findYAML(o Options, t *Tools) bool {
	t.YAMLHost, t.YAMLSource, t.LanguageDirs = "", "", nil
	cached := o.path(yamlTarget())
	if t.Pulumi != "" {
		// The CLI looks next to its resolved executable; a PATH entry equal to that directory keeps
		// it from warning that the host on PATH differs from the bundled one.
		if real, err := filepath.EvalSymlinks(t.Pulumi); err == nil {
			dir := filepath.Dir(real)
			candidate := filepath.Join(dir, exe(yamlBinary))
			if isExecutable(candidate) {
				t.YAMLHost, t.YAMLSource, t.LanguageDirs = candidate, SourceBundled, []string{dir}
				if sameFile(candidate, cached) {
					t.YAMLSource = SourceCache
				}
				return true
			}
		}
	}
	if t.Source == SourceEnv || t.Source == SourcePath {
		if path, err := o.LookPath(yamlBinary); err == nil {
			if abs, err := filepath.Abs(path); err == nil {
				t.YAMLHost, t.YAMLSource, t.LanguageDirs = abs, SourcePath, []string{filepath.Dir(abs)}
				return true
			}
		}
	}
	if isExecutable(cached) {
		t.YAMLHost, t.YAMLSource, t.LanguageDirs = cached, SourceCache, []string{filepath.Dir(cached)}
		return true
	}
	return false
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && (info.Mode()&0o111 != 0 || isWindows)
}

func sameFile(a, b string) bool {
	ia, err := os.Stat(a)
	if err != nil {
		return false
	}
	ib, err := os.Stat(b)
	return err == nil && os.SameFile(ia, ib)
}

// notFoundError carries a full message and matches ErrNotFound.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }
