package toolchain

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEnsure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("builds both into the cache and links the YAML host next to the CLI", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		fb := &fakeBuilder{}
		o.build = fb.build
		tools, err := Ensure(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(cacheCLI(o), "pulumi-language-yaml")
		assertTools(t, tools, Tools{Pulumi: filepath.Join(cacheCLI(o), "pulumi"), Version: PulumiVersion,
			Source: SourceBuild, YAMLHost: link, YAMLSource: SourceBuild, LanguageDirs: []string{cacheCLI(o)}})
		if !sameFile(link, filepath.Join(cacheYAML(o), "pulumi-language-yaml")) {
			t.Errorf("%s does not lead to the cached YAML host", link)
		}
		if fb.count(pulumiBinary) != 1 || fb.count(yamlBinary) != 1 {
			t.Errorf("builds = %v, want one of each", fb.builds)
		}

		again, err := Ensure(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if again.Source != SourceCache || again.YAMLSource != SourceCache || again.YAMLHost != link {
			t.Errorf("second Ensure = %+v, want both from the cache", again)
		}
		if fb.count(pulumiBinary) != 1 || fb.count(yamlBinary) != 1 {
			t.Errorf("second Ensure built again: %v", fb.builds)
		}
		found, err := Find(ctx, o)
		if err != nil || found.YAMLHost != link {
			t.Errorf("Find after Ensure = %+v, %v", found, err)
		}
	})

	t.Run("a built CLI reporting 0.0.0 is refused and nothing is installed", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.build = (&fakeBuilder{version: "0.0.0"}).build
		_, err := Ensure(ctx, o)
		var verr *VersionError
		if !errors.As(err, &verr) {
			t.Fatalf("err = %v, want a *VersionError", err)
		}
		assertDirHolds(t, cacheCLI(o))
	})

	t.Run("a failing build reports its output and leaves nothing behind", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.build = (&fakeBuilder{fail: func(string) error { return errors.New("go: module lookup disabled") }}).build
		_, err := Ensure(ctx, o)
		if err == nil || !strings.Contains(err.Error(), "module lookup disabled") {
			t.Fatalf("err = %v, want the build's failure", err)
		}
		assertDirHolds(t, cacheCLI(o))
	})

	t.Run("a downloaded bundle is used as is, without building", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.DisableDownload = false
		fb := &fakeBuilder{}
		o.build = fb.build
		o.download = func(_ context.Context, root string) error {
			fakePulumi(t, filepath.Join(root, "bin"), PulumiVersion)
			fakeYAML(t, filepath.Join(root, "bin"))
			return nil
		}
		tools, err := Ensure(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		assertTools(t, tools, Tools{Pulumi: filepath.Join(cacheCLI(o), "pulumi"), Version: PulumiVersion,
			Source: SourceDownload, YAMLHost: filepath.Join(cacheCLI(o), "pulumi-language-yaml"),
			YAMLSource: SourceBundled, LanguageDirs: []string{cacheCLI(o)}})
		if fb.count(pulumiBinary)+fb.count(yamlBinary) != 0 {
			t.Errorf("built %v after a successful download", fb.builds)
		}
	})

	t.Run("a failed download falls back to the build and says so", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.DisableDownload = false
		o.build = (&fakeBuilder{}).build
		o.download = func(context.Context, string) error { return errors.New("get.pulumi.com unreachable") }
		progress := newLockedBuffer("")
		o.Progress = progress
		tools, err := Ensure(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if tools.Source != SourceBuild {
			t.Errorf("Source = %q, want build", tools.Source)
		}
		if !strings.Contains(progress.String(), "download failed (get.pulumi.com unreachable)") {
			t.Errorf("progress does not report the failed download:\n%s", progress)
		}
	})

	t.Run("without download and build a missing CLI is ErrNotFound", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.DisableBuild = true
		_, err := Ensure(ctx, o)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})

	t.Run("a stale cached CLI is rebuilt", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		fakePulumi(t, cacheCLI(o), "0.0.0")
		fb := &fakeBuilder{}
		o.build = fb.build
		tools, err := Ensure(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if tools.Source != SourceBuild || tools.Version != PulumiVersion || len(tools.Warnings) != 0 {
			t.Errorf("got %+v, want a fresh build without warnings", tools)
		}
	})

	t.Run("an env CLI without a YAML host gets only the YAML host built", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.Command = fakePulumi(t, t.TempDir(), PulumiVersion)
		fb := &fakeBuilder{}
		o.build = fb.build
		tools, err := Ensure(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		assertTools(t, tools, Tools{Pulumi: o.Command, Version: PulumiVersion, Source: SourceEnv,
			YAMLHost: filepath.Join(cacheYAML(o), "pulumi-language-yaml"), YAMLSource: SourceBuild,
			LanguageDirs: []string{cacheYAML(o)}})
		if fb.count(pulumiBinary) != 0 {
			t.Errorf("built the CLI although STAGECOACH_PULUMI_COMMAND is set")
		}
		if _, err := os.Lstat(filepath.Join(filepath.Dir(o.Command), "pulumi-language-yaml")); err == nil {
			t.Errorf("linked the YAML host next to a CLI that is not ours")
		}
	})

	t.Run("progress names the work, the elapsed time and the result", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		o.progressEvery = time.Millisecond
		progress := newLockedBuffer("still building Pulumi CLI")
		o.Progress = progress
		o.build = (&fakeBuilder{before: func(binary string) {
			if binary == pulumiBinary {
				<-progress.signal // build until a tick has been reported
			}
		}}).build
		if _, err := Ensure(ctx, o); err != nil {
			t.Fatal(err)
		}
		for _, re := range []string{
			`(?m)^toolchain: building Pulumi CLI v` + PulumiVersion + ` from the Go module proxy into ` + regexp.QuoteMeta(cacheCLI(o)) + ` `,
			`(?m)^toolchain: still building Pulumi CLI v` + PulumiVersion + ` \(\d+(ms|s|m\d+s)? elapsed\)$`,
			`(?m)^toolchain: built Pulumi CLI v` + PulumiVersion + ` in \S+: ` + regexp.QuoteMeta(filepath.Join(cacheCLI(o), "pulumi")) + `$`,
			`(?m)^toolchain: built Pulumi YAML language host v` + YAMLVersion + ` in \S+: ` + regexp.QuoteMeta(filepath.Join(cacheYAML(o), "pulumi-language-yaml")) + `$`,
		} {
			if !regexp.MustCompile(re).MatchString(progress.String()) {
				t.Errorf("progress lacks %s:\n%s", re, progress)
			}
		}
	})

	t.Run("concurrent callers build once: the second waits for the lock and finds the result", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		started, release := make(chan struct{}), make(chan struct{})
		fb := &fakeBuilder{before: blockFirstCLIBuild(started, release)}
		o.build = fb.build
		defer close(release)

		type result struct {
			tools Tools
			err   error
		}
		first, second := make(chan result, 1), make(chan result, 1)
		go func() {
			tools, err := Ensure(ctx, o)
			first <- result{tools, err}
		}()
		<-started
		waiting := newLockedBuffer("waiting for another process installing Pulumi CLI")
		o2 := o
		o2.Progress = waiting
		go func() {
			tools, err := Ensure(ctx, o2)
			second <- result{tools, err}
		}()
		select {
		case <-waiting.signal:
		case r := <-second:
			t.Fatalf("second Ensure returned without waiting for the lock: %+v, %v", r.tools, r.err)
		}
		release <- struct{}{}

		a, b := <-first, <-second
		if a.err != nil || b.err != nil {
			t.Fatalf("errors: %v, %v", a.err, b.err)
		}
		if a.tools.Pulumi != b.tools.Pulumi || a.tools.Source != SourceBuild || b.tools.Source != SourceCache {
			t.Errorf("first %+v\nsecond %+v", a.tools, b.tools)
		}
		if fb.count(pulumiBinary) != 1 || fb.count(yamlBinary) != 1 {
			t.Errorf("builds = %v, want one of each", fb.builds)
		}
	})

	t.Run("a caller waiting for the lock gives up when its context ends", func(t *testing.T) {
		t.Parallel()
		o := testOptions(t)
		started, release := make(chan struct{}), make(chan struct{})
		o.build = (&fakeBuilder{before: blockFirstCLIBuild(started, release)}).build
		done := make(chan error, 1)
		go func() {
			_, err := Ensure(ctx, o)
			done <- err
		}()
		<-started
		waitCtx, cancel := context.WithCancel(ctx)
		waiting := newLockedBuffer("waiting for another process")
		o2 := o
		o2.Progress = waiting
		go func() {
			<-waiting.signal
			cancel()
		}()
		_, err := Ensure(waitCtx, o2)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// blockFirstCLIBuild returns a fakeBuilder.before that signals started when the first CLI build
// begins and holds that build until release yields; later builds run straight through.
func blockFirstCLIBuild(started chan<- struct{}, release <-chan struct{}) func(string) {
	var once sync.Once
	return func(binary string) {
		if binary != pulumiBinary {
			return
		}
		first := false
		once.Do(func() { first = true })
		if first {
			close(started)
			<-release
		}
	}
}

// assertDirHolds fails unless dir is missing or holds exactly the given names.
func assertDirHolds(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		entries = nil
	} else if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}

func TestReachable(t *testing.T) {
	t.Parallel()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			t.Errorf("method %s, want HEAD", r.Method)
		}
	}))
	t.Cleanup(ok.Close)
	missing := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(missing.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	ctx := context.Background()
	if err := reachable(ctx, ok.URL, 5*time.Second); err != nil {
		t.Errorf("reachable server: %v", err)
	}
	if err := reachable(ctx, missing.URL, 5*time.Second); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404 server: err = %v, want a 404 error", err)
	}
	if err := reachable(ctx, closed.URL, 5*time.Second); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("closed server: err = %v, want unreachable", err)
	}
}

func TestBuildFailureSaysWhatHappened(t *testing.T) {
	t.Parallel()
	// Each case runs the real go-build path against a fake go command: nothing is really built.
	withGo := func(t *testing.T, script string) Options {
		o := testOptions(t)
		o.LookPath = onPath(map[string]string{"go": writeScript(t, filepath.Join(t.TempDir(), "go"), script)})
		return o
	}
	check := func(t *testing.T, o Options, ctx context.Context, why BuildFailure, wants ...string) {
		t.Helper()
		_, err := Ensure(ctx, o)
		var be *BuildError
		if !errors.As(err, &be) {
			t.Fatalf("err = %v, want a *BuildError", err)
		}
		if be.Why != why || be.Tool != "Pulumi CLI v"+PulumiVersion {
			t.Errorf("Why = %q, Tool = %q; want %q for the CLI", be.Why, be.Tool, why)
		}
		for _, want := range wants {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the message lacks %q:\n%v", want, err)
			}
		}
		assertDirHolds(t, cacheCLI(o))
	}

	t.Run("a compile error is a failure with the go command's output", func(t *testing.T) {
		t.Parallel()
		o := withGo(t, `echo "main.go:3:2: undefined: frobnicate" >&2; exit 1`)
		check(t, o, t.Context(), BuildFailed, "failed after", "exit status 1", "undefined: frobnicate")
	})
	t.Run("a go command killed from outside points at memory", func(t *testing.T) {
		t.Parallel()
		o := withGo(t, `kill -KILL $$`)
		check(t, o, t.Context(), BuildKilled, "killed from outside", "signal: killed", "out-of-memory", "GOFLAGS=-p=1")
	})
	t.Run("a go command that dies of Ctrl-C before the context ends counts as interrupted", func(t *testing.T) {
		t.Parallel()
		o := withGo(t, `kill -INT $$`)
		check(t, o, t.Context(), BuildStopped, "because it was interrupted")
	})
	t.Run("no go command says to install Go or point at a CLI", func(t *testing.T) {
		t.Parallel()
		check(t, testOptions(t), t.Context(), BuildNoGo, "needs the go command", "STAGECOACH_PULUMI_COMMAND")
	})
	t.Run("an interrupt stops the build and says so", func(t *testing.T) {
		t.Parallel()
		o := withGo(t, `exec sleep 600`)
		building := newLockedBuffer("building Pulumi CLI")
		o.Progress = building
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-building.signal
			cancel()
		}()
		check(t, o, ctx, BuildStopped, "was stopped after", "because it was interrupted", "nothing was installed")
		if _, err := Ensure(ctx, o); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want it to match context.Canceled", err)
		}
	})
	t.Run("a deadline stops the build and says the time ran out", func(t *testing.T) {
		t.Parallel()
		o := withGo(t, `exec sleep 600`)
		ctx, cancel := context.WithDeadline(t.Context(), time.Now())
		defer cancel()
		check(t, o, ctx, BuildStopped, "because the time allowed for it ran out")
	})
}
