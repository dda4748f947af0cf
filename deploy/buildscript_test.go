package deploy_test

import (
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// TestBuildScript runs the Dockerfile's build stage without Docker: deploy/image/build.sh into a
// scratch root, taking the pinned CLI and YAML host from the user's toolchain cache (which CI fills
// before the tests) instead of downloading or building them. It then checks what the runtime stage
// copies: a static bot that runs, and a read-only toolchain that the bot, as an unprivileged user with
// the image's environment, finds where the Dockerfile says.
func TestBuildScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bot with the image's flags: minutes with a cold build cache")
	}
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the image is Linux")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	source := filepath.Join(cache, "stagecoach", "toolchain")
	if _, err := os.Stat(filepath.Join(source, "pulumi-v"+toolchain.PulumiVersion, "pulumi")); err != nil {
		testenv.SkipOrFail(t, "the pinned Pulumi CLI is not in %s (run `go run ./cmd/bot toolchain install`): %v", source, err)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		testenv.SkipOrFail(t, "bash: %v", err)
	}
	// The scratch root is searchable by every user: the bot runs from it as an unprivileged uid below.
	scratch, err := os.MkdirTemp("", "stagecoach-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(scratch) })
	if err := os.Chmod(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(scratch, "root")
	build := exec.Command("bash", "image/build.sh", root)
	build.Env = append(os.Environ(), "STAGECOACH_TOOLCHAIN_SOURCE="+source)
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}

	// Nothing but the bot and the toolchain: the runtime stage copies all of ROOT.
	for dir, want := range map[string][]string{
		"": {"opt", "usr"}, "opt": {"stagecoach"}, "opt/stagecoach": {"toolchain"}, "usr": {"local"},
		"usr/local": {"bin"}, "usr/local/bin": {"bot"},
	} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if !slices.Equal(got, want) {
			t.Errorf("ROOT/%s holds %q, want %q", dir, got, want)
		}
	}

	bot := filepath.Join(root, "usr", "local", "bin", "bot")
	assertStatic(t, bot)
	if out, err := exec.Command(bot, "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "stagecoach ") {
		t.Errorf("bot version: %v\n%s", err, out)
	}

	tc := filepath.Join(root, filepath.FromSlash(imageToolchain))
	cliDir := filepath.Join(tc, "pulumi-v"+toolchain.PulumiVersion)
	if out, err := exec.Command(filepath.Join(cliDir, "pulumi"), "version").Output(); err != nil || strings.TrimSpace(string(out)) != "v"+toolchain.PulumiVersion {
		t.Errorf("pulumi version: %q, %v; want v%s", out, err, toolchain.PulumiVersion)
	}
	yamlHost, err := filepath.EvalSymlinks(filepath.Join(cliDir, "pulumi-language-yaml"))
	if err != nil {
		t.Errorf("no YAML language host next to the CLI: %v", err)
	} else if !strings.HasPrefix(yamlHost, tc+string(filepath.Separator)) {
		t.Errorf("the YAML host next to the CLI is %s, outside the image's toolchain %s", yamlHost, tc)
	}
	assertReadOnlyForOthers(t, tc)

	// The bot as the image runs it: as an unprivileged user, with the Dockerfile's environment (paths
	// under ROOT), no pulumi on PATH and a home it cannot write (readOnlyRootFilesystem).
	env := readDockerfile(t, "Dockerfile").Stages[1].env(t)
	home := filepath.Join(scratch, "home")
	if err := os.Mkdir(home, 0o555); err != nil {
		t.Fatal(err)
	}
	find := exec.Command(bot, "toolchain", "install")
	find.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home,
		"XDG_CACHE_HOME=" + filepath.Join(root, filepath.FromSlash(env["XDG_CACHE_HOME"])),
		"PULUMI_SKIP_UPDATE_CHECK=" + env["PULUMI_SKIP_UPDATE_CHECK"]}
	if os.Geteuid() == 0 {
		find.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err = find.CombinedOutput()
	want := "pulumi " + toolchain.PulumiVersion + " (cache) at " + filepath.Join(cliDir, "pulumi") + "\n"
	if err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("bot toolchain install in the image's environment: %v\n%s\nwant it to begin %q", err, out, want)
	}
}

// assertStatic fails unless the ELF file at path needs no dynamic loader and no shared library.
func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a PT_INTERP program header: it is dynamically linked", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	if len(libs) > 0 {
		t.Errorf("%s needs shared libraries %q", path, libs)
	}
}

// assertReadOnlyForOthers fails unless every file and directory under dir is readable by all and
// writable by its owner only, so that a pull request's program cannot replace the toolchain.
func assertReadOnlyForOthers(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		m := info.Mode()
		if m&0o022 != 0 || m&0o004 == 0 || (m.IsDir() && m&0o001 == 0) {
			t.Errorf("%s has mode %s; the toolchain must be readable by all and writable by its owner only", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuildScriptShellcheck lints build.sh with shellcheck (Debian packages it; .ci/run installs it).
func TestBuildScriptShellcheck(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("shellcheck"); err != nil {
		testenv.SkipOrFail(t, "shellcheck: %v (apt-get install shellcheck)", err)
	}
	cmd := exec.Command("shellcheck", "--external-sources", "deploy/image/build.sh")
	cmd.Dir = ".." // where the script's `# shellcheck source=` path starts
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck deploy/image/build.sh: %v\n%s", err, out)
	}
}
