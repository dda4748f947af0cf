//go:build linux

package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
	"github.com/stagecoach/stagecoach/internal/remoteexec"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// The bot's secrets, as the helper ("the bot") holds them in its environment and in a file.
const (
	leakWebhookSecret = "whsec-e2e-0123456789abcdef"
	leakDatabaseURL   = "postgres://stagecoach:db-e2e-password@db.internal/stagecoach"
	leakGitHubToken   = "ghp_e2eTokenThatMustNotLeak"
	leakFileSecret    = "-----BEGIN RSA PRIVATE KEY----- e2e-app-key-body"
	secretsHelperEnv  = "STAGECOACH_TEST_SECRETS_HELPER" // the helper's spec, JSON
	runnerHelperEnv   = "STAGECOACH_TEST_RUNNER_HELPER"  // the runner helper's spec, JSON
)

// helperSpec tells the helper process how to build its Runner.
type helperSpec struct {
	Pulumi       string
	LanguageDirs []string
	Base         string // the helper's data dir
	User         string // engine.Config.User
	Runner       string // engine.Config.Runner
	SecretFile   string
}

// runnerSpec tells the runner helper ("the runner container") what to serve and what to hide.
type runnerSpec struct {
	Pulumi string
	Socket string
	Hide   []string // directories covered by an empty tmpfs, as a container that does not mount them
	UID    int      // the user it serves as, after hiding
}

// probeResult is what one probe operation left behind, everywhere a user or the dashboard could see it.
type probeResult struct {
	Outputs map[string]engine.Output
	Errors  []string
	Err     string
	Log     string
	State   string
}

// TestPulumiProgramCannotReachBotSecrets runs, with the real engine, pull-request programs that try to
// read the bot's secrets: their own environment (inherited from the bot before the allowlist), the
// bot's /proc/<pid>/environ and the bot's secret file. The bot is a helper process holding the secrets in
// its initial environment (t.Setenv would not show in /proc/<pid>/environ) and hardened as `serve` is.
// None of the secrets may appear in outputs, errors, the operation log or the stack's state.
//
// Without a Pulumi user, files of the bot's own user stay readable by design (SECURITY.md): the file
// probe must then find the secret, which shows the probe works; with STAGECOACH_PULUMI_USER it must not.
// As root the same-user variant runs the helper as an unprivileged uid, as a non-root deployment would.
func TestPulumiProgramCannotReachBotSecrets(t *testing.T) {
	if spec := os.Getenv(secretsHelperEnv); spec != "" {
		secretsHelper(spec)
		return
	}
	if spec := os.Getenv(runnerHelperEnv); spec != "" {
		runnerHelper(spec)
		return
	}
	t.Parallel()
	tools := enginetest.Tools(t)

	t.Run("same user", func(t *testing.T) {
		t.Parallel()
		base, exe, spec := helperLayout(t, tools, os.Geteuid() == 0)
		uid := os.Geteuid()
		var cred *syscall.Credential
		if uid == 0 {
			uid = 65534
			cred = &syscall.Credential{Uid: 65534, Gid: 65534}
		}
		writeSecretFile(t, spec.SecretFile, uid)
		if err := chownTree(base, uid); err != nil {
			t.Fatal(err)
		}
		res := runSecretsHelper(t, exe, spec, cred)
		checkNoLeak(t, res, false)
	})

	t.Run("as the pulumi user", func(t *testing.T) {
		t.Parallel()
		if os.Geteuid() != 0 {
			testenv.SkipOrFail(t, "running Pulumi as another user needs root: run the tests as root")
		}
		base, exe, spec := helperLayout(t, tools, false)
		spec.User = "65534:65534"
		writeSecretFile(t, spec.SecretFile, 0)
		// The documented layout: the data dir readable (the CLI lists the directories above its project),
		// the bot's files in it private.
		if err := os.Chmod(base, 0o755); err != nil {
			t.Fatal(err)
		}
		res := runSecretsHelper(t, exe, spec, nil)
		checkNoLeak(t, res, true)
	})

	// The Helm chart's layout: the bot and `bot runner` run as the same unprivileged user in two
	// containers; the runner's container does not mount the secrets. Here the runner is a process in
	// its own mount namespace with the secrets directory covered, as uid 65534 like the bot.
	t.Run("through a runner", func(t *testing.T) {
		t.Parallel()
		if os.Geteuid() != 0 {
			testenv.SkipOrFail(t, "a runner in its own mount namespace needs root: run the tests as root")
		}
		const uid = 65534
		base, exe, spec := helperLayout(t, tools, true)
		secrets := filepath.Join(base, "secrets")
		if err := os.Mkdir(secrets, 0o700); err != nil {
			t.Fatal(err)
		}
		spec.SecretFile = filepath.Join(secrets, "app-key.pem")
		writeSecretFile(t, spec.SecretFile, uid) // readable by the runner's uid: only the mount hides it
		if err := chownTree(base, uid); err != nil {
			t.Fatal(err)
		}
		sockDir, err := os.MkdirTemp("", "rx")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
		if err := os.Chown(sockDir, uid, uid); err != nil {
			t.Fatal(err)
		}
		spec.Runner = filepath.Join(sockDir, "runner.sock")
		startRunnerHelper(t, exe, runnerSpec{Pulumi: spec.Pulumi, Socket: spec.Runner, Hide: []string{secrets}, UID: uid})
		res := runSecretsHelper(t, exe, spec, &syscall.Credential{Uid: uid, Gid: uid})
		checkNoLeak(t, res, true)
	})
}

// startRunnerHelper starts "the runner container" and waits until it listens.
func startRunnerHelper(t *testing.T, exe string, spec runnerSpec) {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestPulumiProgramCannotReachBotSecrets$", "-test.timeout=10m")
	cmd.Env = []string{runnerHelperEnv + "=" + string(b), "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "LISTENING\n" {
		t.Fatalf("the runner helper did not start: %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
}

// runnerHelper is "the runner container": it covers the directories a container would not mount,
// becomes the unprivileged user and serves Pulumi for the bot until killed.
func runnerHelper(specJSON string) {
	fail := func(err error) {
		fmt.Println("RUNNER HELPER FAILED:", err)
		os.Exit(2)
	}
	var spec runnerSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fail(err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fail(fmt.Errorf("making mounts private: %w", err))
	}
	for _, d := range spec.Hide {
		if err := unix.Mount("tmpfs", d, "tmpfs", 0, "size=1m"); err != nil {
			fail(fmt.Errorf("hiding %s: %w", d, err))
		}
	}
	if err := errors.Join(syscall.Setgroups(nil), syscall.Setgid(spec.UID), syscall.Setuid(spec.UID)); err != nil {
		fail(err)
	}
	ln, err := remoteexec.Listen(spec.Socket)
	if err != nil {
		fail(err)
	}
	fmt.Println("LISTENING")
	if err := (&remoteexec.Server{Command: spec.Pulumi}).Serve(context.Background(), ln); err != nil {
		fail(err)
	}
}

// helperLayout makes the helper's data dir (readable above, so another uid can reach what it must) and,
// with copy, copies the test binary and the toolchain where an unprivileged uid can run them.
func helperLayout(t *testing.T, tools toolchain.Tools, copyBinaries bool) (string, string, helperSpec) {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base := filepath.Join(dir, "data")
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec := helperSpec{Pulumi: tools.Pulumi, LanguageDirs: tools.LanguageDirs, Base: base, SecretFile: filepath.Join(base, "app-key.pem")}
	if copyBinaries {
		bin := filepath.Join(dir, "bin")
		if err := os.Mkdir(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		exe = copyExe(t, exe, filepath.Join(bin, "engine.test"))
		spec.Pulumi = copyExe(t, tools.Pulumi, filepath.Join(bin, "pulumi"))
		for _, d := range tools.LanguageDirs {
			copyExe(t, filepath.Join(d, "pulumi-language-yaml"), filepath.Join(bin, "pulumi-language-yaml"))
		}
		spec.LanguageDirs = []string{bin}
	}
	return base, exe, spec
}

func copyExe(t *testing.T, src, dst string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeSecretFile(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(leakFileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func chownTree(dir string, uid int) error {
	if uid == os.Geteuid() {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
}

// runSecretsHelper starts the helper with the bot's secrets in its environment and reads its report.
func runSecretsHelper(t *testing.T, exe string, spec helperSpec, cred *syscall.Credential) map[string]probeResult {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestPulumiProgramCannotReachBotSecrets$", "-test.timeout=10m")
	cmd.Env = []string{
		secretsHelperEnv + "=" + string(b),
		"PATH=" + os.Getenv("PATH"),
		"STAGECOACH_WEBHOOK_SECRET=" + leakWebhookSecret,
		"STAGECOACH_DATABASE_URL=" + leakDatabaseURL,
		"GITHUB_TOKEN=" + leakGitHubToken,
		"AWS_REGION=eu-north-1", // a default-allowlisted variable, which the program may see
	}
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	_, report, ok := strings.Cut(string(out), "REPORT ")
	if !ok {
		t.Fatalf("helper printed no report:\n%s\nstderr:\n%s", out, stderr.String())
	}
	report, _, _ = strings.Cut(report, "\n")
	var res map[string]probeResult
	if err := json.Unmarshal([]byte(report), &res); err != nil {
		t.Fatalf("reading the helper's report: %v\n%s", err, out)
	}
	return res
}

func checkNoLeak(t *testing.T, res map[string]probeResult, runAs bool) {
	t.Helper()
	if len(res) != 3 {
		t.Fatalf("report has %d probes, want 3: %+v", len(res), res)
	}
	for probe, r := range res {
		if !strings.Contains(r.State, "probe"+probe) {
			t.Errorf("probe %s: the report holds none of its stack's state, so the state was not checked", probe)
		}
		text := fmt.Sprintf("%+v\n%s\n%s\n%s\n%s", r.Outputs, strings.Join(r.Errors, "\n"), r.Err, r.Log, r.State)
		for _, secret := range []string{leakWebhookSecret, leakDatabaseURL, "db-e2e-password", leakGitHubToken} {
			if strings.Contains(text, secret) {
				t.Errorf("probe %s: the program reached the bot's secret %q:\n%s", probe, secret, text)
			}
		}
		wantFile := probe == "file" && !runAs
		if got := strings.Contains(text, "e2e-app-key-body"); got != wantFile {
			t.Errorf("probe %s: secret file content visible = %v, want %v:\n%s", probe, got, wantFile, text)
		}
		if strings.Contains(text, "/work/op-") {
			t.Errorf("probe %s: a message names the bot's work directory:\n%s", probe, text)
		}
	}
	// The program does see its own, allowlisted environment: the probe works.
	self := res["self"]
	if v := self.Outputs["value"].Value; !strings.Contains(v, "AWS_REGION=eu-north-1") || !strings.Contains(v, "PULUMI_HOME=") {
		t.Errorf("the self probe did not read the program's own environment: %+v (errors %q, err %s)", self.Outputs, self.Errors, self.Err)
	}
}

// secretsHelper is "the bot": hardened like `serve`, it runs each probe program with a Runner and prints
// everything the probes left behind as one JSON line.
func secretsHelper(specJSON string) {
	fail := func(err error) {
		fmt.Println("HELPER FAILED:", err)
		os.Exit(2)
	}
	var spec helperSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fail(err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fail(err)
	}
	state := filepath.Join(spec.Base, "state")
	cfg := engine.Config{
		PulumiCommand: spec.Pulumi, LanguageDirs: spec.LanguageDirs,
		BackendURL: "file://" + state, Passphrase: enginetest.Passphrase,
		PulumiHome: filepath.Join(spec.Base, "pulumi-home"), WorkDir: filepath.Join(spec.Base, "work"),
		User: spec.User, Runner: spec.Runner,
	}
	logs := enginetest.NewLogs()
	r, err := engine.New(cfg, enginetest.NewLeases(nil), logs, nil, nil)
	if err != nil {
		fail(err)
	}
	probes := map[string]string{
		"self":   "/proc/self/environ",
		"parent": fmt.Sprintf("/proc/%d/environ", os.Getpid()),
		"file":   spec.SecretFile,
	}
	report := map[string]probeResult{}
	for name, path := range probes {
		src := filepath.Join(spec.Base, "src-"+name)
		if err := os.MkdirAll(src, 0o755); err != nil {
			fail(err)
		}
		program := "name: probe" + name + "\nruntime: yaml\noutputs:\n  value:\n    fn::readFile: " + path + "\n"
		if err := os.WriteFile(filepath.Join(src, "Pulumi.yaml"), []byte(program), 0o644); err != nil {
			fail(err)
		}
		res, err := r.Up(context.Background(), engine.Request{Program: engine.LocalProgram(src), Stack: "pr-1"})
		pr := probeResult{Outputs: res.Outputs, Errors: res.Errors}
		if err != nil {
			pr.Err = err.Error()
			var opErr *engine.OperationError
			if !errors.As(err, &opErr) {
				pr.Err += " (not an operation error)"
			}
		}
		if l, ok := logs.Get(res.LogID); ok {
			pr.Log = l.Text
		}
		// Only this probe's project: another probe's state (the file probe's, where the secret file is
		// readable by design) would otherwise show in this one's report, depending on the order.
		own := string(filepath.Separator) + "probe" + name + string(filepath.Separator)
		_ = filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(p, own) {
				if b, err := os.ReadFile(p); err == nil {
					pr.State += string(b)
				}
			}
			return nil
		})
		report[name] = pr
	}
	b, err := json.Marshal(report)
	if err != nil {
		fail(err)
	}
	fmt.Println("REPORT " + string(b))
	os.Exit(0)
}

// A runner whose container mounts another volume (or none) where the bot keeps a shared directory
// would fail every operation in a puzzling way; the engine refuses it at start and says which.
func TestRunnerThatSeesOtherDirectoriesIsRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "a runner in its own mount namespace needs root: run the tests as root")
	}
	cfg := enginetest.Config(t)
	if err := os.MkdirAll(cfg.WorkDir, 0o700); err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp("", "rx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(sockDir) })
	cfg.Runner = filepath.Join(sockDir, "runner.sock")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	startRunnerHelper(t, exe, runnerSpec{Pulumi: cfg.PulumiCommand, Socket: cfg.Runner, Hide: []string{cfg.WorkDir}})
	_, err = engine.New(cfg, enginetest.NewLeases(nil), nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "the runner does not see: "+cfg.WorkDir) || !strings.Contains(err.Error(), "mount the same volumes") {
		t.Fatalf("New = %v, want the work directory named", err)
	}
	// The same runner with nothing hidden is accepted.
	sock2 := filepath.Join(sockDir, "ok.sock")
	startRunnerHelper(t, exe, runnerSpec{Pulumi: cfg.PulumiCommand, Socket: sock2})
	cfg.Runner = sock2
	if _, err := engine.New(cfg, enginetest.NewLeases(nil), nil, nil, nil); err != nil {
		t.Fatalf("New with a runner that sees everything: %v", err)
	}
}
