package bot_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"

	"github.com/stagecoach/stagecoach/internal/bot"
)

const dataDirHelperEnv = "STAGECOACH_TEST_DATADIR_HELPER" // the data directory to check: run as the helper

// TestCheckDataDir checks data directories as the user the bot runs as. Root writes anything, so as
// root the check runs in a helper process with an unprivileged uid (nobody), and the directories
// that are "someone else's" belong to root; otherwise they are made read-only with chmod.
func TestCheckDataDir(t *testing.T) {
	if dir := os.Getenv(dataDirHelperEnv); dir != "" {
		if err := bot.CheckDataDir(dir); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("writable")
		os.Exit(0)
	}
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the helper switches uid the Linux way")
	}
	exe := helperBinary(t)
	uid, gid := os.Geteuid(), os.Getegid()
	asRoot := uid == 0
	if asRoot {
		uid, gid = 65534, 65534 // unprivileged() runs the helper as nobody
	}
	// mine makes path the checker's; theirs makes it another user's (root's) or, without root, read-only.
	mine := func(t *testing.T, path string, mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if asRoot {
			if err := os.Chown(path, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	theirs := func(t *testing.T, path string, mode os.FileMode) {
		t.Helper()
		if !asRoot {
			mode &^= 0o222
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(path, 0o700) }) // so that t.TempDir can remove it
	}
	writeFile := func(t *testing.T, path string) {
		t.Helper()
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		// fail is the entry the error must name ("" when the check passes); mode its mode in the message.
		fail, mode string
	}{
		{name: "ours", setup: func(t *testing.T, dir string) {
			mine(t, dir, 0o700)
			writeFile(t, filepath.Join(dir, "stagecoach.db"))
			mine(t, filepath.Join(dir, "stagecoach.db"), 0o600)
		}},
		{name: "missing and creatable", setup: func(t *testing.T, dir string) {
			mine(t, dir, 0o700)
			if err := os.Remove(dir); err != nil {
				t.Fatal(err)
			}
			mine(t, filepath.Dir(dir), 0o755) // the parent is the checker's
		}},
		{name: "directory of another user", fail: ".", mode: `d`, setup: func(t *testing.T, dir string) {
			theirs(t, dir, 0o755) // a volume that kept root's ownership: the bug behind "unable to open database file (14)"
		}},
		{name: "database of another user", fail: "stagecoach.db", mode: `-`, setup: func(t *testing.T, dir string) {
			mine(t, dir, 0o700)
			writeFile(t, filepath.Join(dir, "stagecoach.db"))
			theirs(t, filepath.Join(dir, "stagecoach.db"), 0o644) // left by an image that ran as root
		}},
		{name: "pulumi home of another user", fail: "pulumi-home", mode: `d`, setup: func(t *testing.T, dir string) {
			mine(t, dir, 0o700)
			if err := os.Mkdir(filepath.Join(dir, "pulumi-home"), 0o755); err != nil {
				t.Fatal(err)
			}
			theirs(t, filepath.Join(dir, "pulumi-home"), 0o755)
		}},
		{name: "lost+found is not the bot's", setup: func(t *testing.T, dir string) {
			mine(t, dir, 0o700)
			if err := os.Mkdir(filepath.Join(dir, "lost+found"), 0o700); err != nil {
				t.Fatal(err)
			}
			theirs(t, filepath.Join(dir, "lost+found"), 0o700)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(searchableTempDir(t), "data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir)
			cmd := exec.Command(exe, "-test.run=^TestCheckDataDir$")
			cmd.Env = []string{dataDirHelperEnv + "=" + dir}
			cmd.SysProcAttr = unprivileged()
			out, err := cmd.CombinedOutput()
			got := string(out)
			if tc.fail == "" {
				if err != nil || got != "writable\n" {
					t.Fatalf("CheckDataDir(%s) as uid %d: %v\n%s", dir, uid, err, got)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckDataDir(%s) as uid %d passed, want an error naming %s:\n%s", dir, uid, tc.fail, got)
			}
			path := filepath.Join(dir, tc.fail)
			owner := fmt.Sprintf("uid %d, gid %d", os.Geteuid(), os.Getegid()) // the test's own user made it
			for _, want := range []string{
				regexp.QuoteMeta(path) + ` .*is not writable by this process \(uid ` + fmt.Sprint(uid) + `, gid ` + fmt.Sprint(gid) + `\)`,
				`permission denied`,
				`owned by ` + regexp.QuoteMeta(owner) + ` with mode ` + tc.mode + `[rwx-]{9}\. `,
				`chown -R ` + fmt.Sprintf("%d:%d ", uid, gid) + regexp.QuoteMeta(dir),
				`fsGroup to ` + fmt.Sprint(gid),
			} {
				if !regexp.MustCompile(want).MatchString(got) {
					t.Errorf("the error does not match %q:\n%s", want, got)
				}
			}
		})
	}
}
