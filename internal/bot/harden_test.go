package bot_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stagecoach/stagecoach/internal/bot"
)

const (
	hardenHelperEnv = "STAGECOACH_TEST_HARDEN_HELPER" // "hardened" or "plain": run as the helper
	hardenSecret    = "harden-test-secret-value"
)

// TestHardenedProcessHidesItsEnvironment starts a helper holding a secret in its environment; the
// helper starts a same-user child that reads /proc/<helper>/environ. Unhardened the child finds the
// secret (which shows the probe works); hardened it cannot. As root the helper and its child run as an
// unprivileged uid, since root's CAP_SYS_PTRACE reads any process — which is why the bot runs Pulumi as
// another user when it runs as root.
func TestHardenedProcessHidesItsEnvironment(t *testing.T) {
	if mode := os.Getenv(hardenHelperEnv); mode != "" {
		hardenHelper(mode)
		return
	}
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("HardenProcess only acts on Linux")
	}
	exe := helperBinary(t)
	for _, tc := range []struct {
		mode     string
		readable bool
	}{{"plain", true}, {"hardened", false}} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(exe, "-test.run=^TestHardenedProcessHidesItsEnvironment$")
			cmd.Env = []string{hardenHelperEnv + "=" + tc.mode, "STAGECOACH_WEBHOOK_SECRET=" + hardenSecret, "PATH=" + os.Getenv("PATH")}
			cmd.SysProcAttr = unprivileged()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			got := string(out)
			switch {
			case tc.readable && !strings.Contains(got, "child read the secret"):
				t.Fatalf("the unhardened helper's environment was not readable, so the probe proves nothing:\n%s", got)
			case !tc.readable && !strings.Contains(got, "child could not read the environment"):
				t.Fatalf("a child read the hardened helper's environment:\n%s", got)
			}
		})
	}
}

// hardenHelper is the helper process: optionally hardened, it lets a child read its environ and says what happened.
func hardenHelper(mode string) {
	if mode == "hardened" {
		if err := bot.HardenProcess(); err != nil {
			fmt.Println("HardenProcess:", err)
			os.Exit(2)
		}
	}
	out, err := exec.Command("cat", fmt.Sprintf("/proc/%d/environ", os.Getpid())).Output()
	switch {
	case err != nil:
		fmt.Println("child could not read the environment:", err)
	case bytes.Contains(out, []byte(hardenSecret)):
		fmt.Println("child read the secret")
	default:
		fmt.Println("child read the environment without the secret")
	}
	os.Exit(0)
}

// helperBinary is this test binary, copied where an unprivileged uid can run it when the test runs as root.
func helperBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		return self
	}
	dst := filepath.Join(searchableTempDir(t), "bot.test")
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
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

// searchableTempDir is a t.TempDir that every user may search, so an unprivileged helper reaches what is in it.
func searchableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// unprivileged runs a process as nobody when this one is root, else as this user.
func unprivileged() *syscall.SysProcAttr {
	if os.Geteuid() != 0 {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}
