package toolchain

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakePulumi writes a pulumi script into dir that answers `version` with v<ver>.
func fakePulumi(t *testing.T, dir, ver string) string {
	t.Helper()
	return writeScript(t, filepath.Join(dir, "pulumi"), `if [ "$1" = version ]; then echo v`+ver+`; exit 0; fi
echo "unexpected: $*" >&2; exit 3`)
}

// fakeYAML writes a pulumi-language-yaml script into dir.
func fakeYAML(t *testing.T, dir string) string {
	t.Helper()
	return writeScript(t, filepath.Join(dir, "pulumi-language-yaml"), `echo 12345`)
}

func writeScript(t *testing.T, path, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake CLIs are shell scripts")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// onPath is a LookPath that finds only the given names.
func onPath(found map[string]string) func(string) (string, error) {
	return func(name string) (string, error) {
		if p, ok := found[name]; ok {
			return p, nil
		}
		return "", exec.ErrNotFound
	}
}

// testOptions is an isolated setup: an empty cache, nothing on PATH, no download.
func testOptions(t *testing.T) Options {
	return Options{CacheDir: t.TempDir(), LookPath: onPath(nil), DisableDownload: true}
}

func cacheCLI(o Options) string  { return filepath.Join(o.CacheDir, "pulumi-v"+PulumiVersion) }
func cacheYAML(o Options) string { return filepath.Join(o.CacheDir, "pulumi-yaml-v"+YAMLVersion) }

func hasWarning(tools Tools, substr string) bool {
	return slices.ContainsFunc(tools.Warnings, func(w string) bool { return strings.Contains(w, substr) })
}

func TestFind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("env command is used, with the YAML host bundled next to it", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		dir := t.TempDir()
		o.Command = fakePulumi(t, dir, PulumiVersion)
		yaml := fakeYAML(t, dir)
		fakePulumi(t, cacheCLI(o), PulumiVersion) // present, but the setting wins

		tools, err := Find(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		want := Tools{Pulumi: o.Command, Version: PulumiVersion, Source: SourceEnv,
			YAMLHost: yaml, YAMLSource: SourceBundled, LanguageDirs: []string{dir}}
		assertTools(t, tools, want)
	})

	t.Run("env command of another supported version is accepted with a warning", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		dir := t.TempDir()
		o.Command = fakePulumi(t, dir, "3.200.0")
		fakeYAML(t, dir)
		tools, err := Find(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if tools.Version != "3.200.0" || tools.Source != SourceEnv {
			t.Fatalf("got %+v", tools)
		}
		if !hasWarning(tools, "v3.200.0; stagecoach is tested with v"+PulumiVersion) {
			t.Errorf("warnings %q do not mention the version difference", tools.Warnings)
		}
	})

	t.Run("env command reporting 0.0.0 is refused with the ldflag explained", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.Command = fakePulumi(t, t.TempDir(), "0.0.0")
		fakePulumi(t, cacheCLI(o), PulumiVersion)
		_, err := Find(ctx, o)
		var verr *VersionError
		if !errors.As(err, &verr) {
			t.Fatalf("err = %v, want a *VersionError", err)
		}
		if errors.Is(err, ErrNotFound) {
			t.Errorf("a refused explicit setting must not look like ErrNotFound (Ensure would build)")
		}
		if !strings.Contains(err.Error(), "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v"+PulumiVersion) {
			t.Errorf("error does not explain the ldflag: %v", err)
		}
	})

	t.Run("env command older than the minimum is refused", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.Command = fakePulumi(t, t.TempDir(), "3.180.9")
		_, err := Find(ctx, o)
		var verr *VersionError
		if !errors.As(err, &verr) || !strings.Contains(err.Error(), "needs at least v"+MinimumPulumiVersion) {
			t.Fatalf("err = %v, want a *VersionError naming the minimum", err)
		}
	})

	t.Run("env command that does not exist is an error, not a fallback to the cache", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.Command = filepath.Join(t.TempDir(), "missing", "pulumi")
		fakePulumi(t, cacheCLI(o), PulumiVersion)
		_, err := Find(ctx, o)
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "STAGECOACH_PULUMI_COMMAND") {
			t.Fatalf("err = %v, want a STAGECOACH_PULUMI_COMMAND error that is not ErrNotFound", err)
		}
	})

	t.Run("env command given as a name is looked up on PATH", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		dir := t.TempDir()
		cli := fakePulumi(t, dir, PulumiVersion)
		fakeYAML(t, dir)
		o.Command = "pulumi-custom"
		o.LookPath = onPath(map[string]string{"pulumi-custom": cli})
		tools, err := Find(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if tools.Pulumi != cli || tools.Source != SourceEnv {
			t.Fatalf("got %+v", tools)
		}
	})

	t.Run("pulumi on PATH is used with the YAML host on PATH", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		cli := fakePulumi(t, t.TempDir(), PulumiVersion)
		yamlDir := t.TempDir()
		yaml := fakeYAML(t, yamlDir)
		fakeYAML(t, cacheYAML(o)) // PATH wins for a CLI we did not install
		o.LookPath = onPath(map[string]string{"pulumi": cli, "pulumi-language-yaml": yaml})
		tools, err := Find(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		assertTools(t, tools, Tools{Pulumi: cli, Version: PulumiVersion, Source: SourcePath,
			YAMLHost: yaml, YAMLSource: SourcePath, LanguageDirs: []string{yamlDir}})
	})

	t.Run("pulumi on PATH reporting 0.0.0 is ignored for the cached CLI", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.LookPath = onPath(map[string]string{"pulumi": fakePulumi(t, t.TempDir(), "0.0.0")})
		cli := fakePulumi(t, cacheCLI(o), PulumiVersion)
		yaml := fakeYAML(t, cacheYAML(o))
		tools, err := Find(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if tools.Pulumi != cli || tools.Source != SourceCache {
			t.Fatalf("got %+v, want the cached CLI", tools)
		}
		if tools.YAMLHost != yaml || tools.YAMLSource != SourceCache {
			t.Errorf("YAML host %q from %q, want %q from the cache", tools.YAMLHost, tools.YAMLSource, yaml)
		}
		if !hasWarning(tools, "reports version 0.0.0") {
			t.Errorf("warnings %q do not say why the PATH CLI was ignored", tools.Warnings)
		}
	})

	t.Run("cached CLI reporting another version is not found", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		fakePulumi(t, cacheCLI(o), "3.200.0")
		tools, err := Find(ctx, o)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "not the pinned v"+PulumiVersion) {
			t.Fatalf("err = %v, want ErrNotFound explaining the version", err)
		}
		if tools.Pulumi != "" {
			t.Errorf("Pulumi = %q, want none", tools.Pulumi)
		}
	})

	t.Run("nothing installed is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		_, err := Find(ctx, o)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		if !strings.Contains(err.Error(), cacheCLI(o)) {
			t.Errorf("error %q does not say where it looked", err)
		}
	})

	t.Run("missing YAML host is ErrNotFound but the CLI is reported", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		cli := fakePulumi(t, cacheCLI(o), PulumiVersion)
		tools, err := Find(ctx, o)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "pulumi-language-yaml") {
			t.Fatalf("err = %v, want ErrNotFound for the YAML host", err)
		}
		if tools.Pulumi != cli || tools.YAMLHost != "" {
			t.Errorf("got %+v, want the CLI and no YAML host", tools)
		}
	})
}

func assertTools(t *testing.T, got, want Tools) {
	t.Helper()
	if got.Pulumi != want.Pulumi || got.Version != want.Version || got.Source != want.Source ||
		got.YAMLHost != want.YAMLHost || got.YAMLSource != want.YAMLSource ||
		!slices.Equal(got.LanguageDirs, want.LanguageDirs) || len(got.Warnings) != len(want.Warnings) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// fakeBuilder builds scripts instead of Go programs and counts builds per binary.
type fakeBuilder struct {
	mu      sync.Mutex
	builds  map[string]int
	version string              // what the built pulumi reports; default PulumiVersion
	before  func(binary string) // runs before writing the output, e.g. to block
	fail    func(binary string) error
}

func (f *fakeBuilder) build(_ context.Context, tg target, out string) error {
	f.mu.Lock()
	if f.builds == nil {
		f.builds = map[string]int{}
	}
	f.builds[tg.binary]++
	f.mu.Unlock()
	if f.before != nil {
		f.before(tg.binary)
	}
	if f.fail != nil {
		if err := f.fail(tg.binary); err != nil {
			return err
		}
	}
	body := "echo 12345"
	if tg.binary == pulumiBinary {
		v := f.version
		if v == "" {
			v = PulumiVersion
		}
		body = "echo v" + v
	}
	return os.WriteFile(out, []byte("#!/bin/sh\n"+body+"\n"), 0o600) // installBuild makes it executable
}

func (f *fakeBuilder) count(binary string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.builds[binary]
}

// lockedBuffer is a goroutine-safe progress writer that closes signal the first time a line
// containing match is written.
type lockedBuffer struct {
	mu     sync.Mutex
	b      strings.Builder
	match  string
	signal chan struct{}
}

func newLockedBuffer(match string) *lockedBuffer {
	return &lockedBuffer{match: match, signal: make(chan struct{})}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	if l.match != "" && strings.Contains(string(p), l.match) {
		close(l.signal)
		l.match = ""
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
