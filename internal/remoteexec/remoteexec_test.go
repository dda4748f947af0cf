package remoteexec

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the "CLI" the runner runs: with STAGECOACH_REMOTEEXEC_HELPER set it
// behaves as its first argument says instead of running tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("STAGECOACH_REMOTEEXEC_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func helper(mode string, args []string) int {
	switch mode {
	case "env":
		env := os.Environ()
		slices.Sort(env)
		wd, _ := os.Getwd()
		fmt.Printf("dir=%s\nargs=%s\n%s\n", wd, strings.Join(args, " "), strings.Join(env, "\n"))
		fmt.Fprintln(os.Stderr, "to stderr")
		return 0
	case "cat":
		_, _ = io.Copy(os.Stdout, os.Stdin)
		return 0
	case "exit":
		return 7
	case "interruptible": // says ready, exits 3 on SIGINT
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt)
		fmt.Println("ready")
		<-ch
		fmt.Println("interrupted")
		return 3
	case "stubborn": // says ready, ignores SIGINT, waits to be killed
		signal.Ignore(os.Interrupt)
		fmt.Println("ready")
		time.Sleep(time.Hour)
		return 0
	}
	return 99
}

// runner starts a server on a fresh socket; its log lines arrive on the returned channel.
func runner(t *testing.T) (*Client, <-chan string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(shortTempDir(t), "runner.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	srv := &Server{Command: exe, Log: slog.New(chanHandler{logs})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &Client{Socket: sock}, logs
}

// shortTempDir is a temporary directory with a short path: a Unix socket's path is limited to 108 bytes.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "rx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func helperEnv(mode string, extra ...string) []string {
	return append([]string{"STAGECOACH_REMOTEEXEC_HELPER=" + mode}, extra...)
}

func TestRunPassesExactlyTheRequest(t *testing.T) {
	t.Setenv("RUNNER_OWN_SECRET", "must-not-pass") // in the runner's (this process's) environment
	c, _ := runner(t)
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code, err := c.Run(context.Background(), Request{Args: []string{"up", "--yes"}, Dir: dir,
		Env: helperEnv("env", "PULUMI_CONFIG_PASSPHRASE=sent")}, nil, &out, &errOut)
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v; stderr %q", code, err, errOut.String())
	}
	want := "dir=" + dir + "\nargs=up --yes\nPULUMI_CONFIG_PASSPHRASE=sent\nSTAGECOACH_REMOTEEXEC_HELPER=env\n"
	if out.String() != want {
		t.Errorf("the process saw\n%s\nwant exactly\n%s", out.String(), want)
	}
	if errOut.String() != "to stderr\n" {
		t.Errorf("stderr = %q", errOut.String())
	}
}

func TestRunStdinAndExitCode(t *testing.T) {
	t.Parallel()
	c, _ := runner(t)
	var out bytes.Buffer
	big := strings.Repeat("0123456789", 20000) // several stdin frames
	code, err := c.Run(context.Background(), Request{Args: []string{"x"}, Dir: "/", Env: helperEnv("cat")},
		strings.NewReader(big), &out, io.Discard)
	if err != nil || code != 0 || out.String() != big {
		t.Fatalf("cat: code %d, err %v, %d bytes back of %d", code, err, out.Len(), len(big))
	}
	code, err = c.Run(context.Background(), Request{Args: []string{"x"}, Dir: "/", Env: helperEnv("exit")}, nil, io.Discard, io.Discard)
	var ee *ExitError
	if code != 7 || !errors.As(err, &ee) || ee.ExitCode() != 7 || err.Error() != "exit status 7" {
		t.Fatalf("exit: code %d, err %v", code, err)
	}
}

// readyWriter closes ready when the process has printed "ready".
type readyWriter struct {
	buf   bytes.Buffer
	ready chan struct{}
}

func (w *readyWriter) Write(p []byte) (int, error) {
	had := strings.Contains(w.buf.String(), "ready")
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), "ready") {
		close(w.ready)
	}
	return len(p), nil
}

func TestCancelInterruptsTheProcess(t *testing.T) {
	t.Parallel()
	c, _ := runner(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &readyWriter{ready: make(chan struct{})}
	go func() { <-out.ready; cancel() }()
	code, err := c.Run(ctx, Request{Args: []string{"up"}, Dir: "/", Env: helperEnv("interruptible"), Grace: time.Minute}, nil, out, io.Discard)
	if code != 3 || !strings.Contains(out.buf.String(), "interrupted") {
		t.Fatalf("code %d, err %v, output %q: want the process interrupted gracefully (exit 3)", code, err, out.buf.String())
	}
}

func TestCancelKillsAStubbornProcessAfterTheGrace(t *testing.T) {
	t.Parallel()
	c, _ := runner(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &readyWriter{ready: make(chan struct{})}
	go func() { <-out.ready; cancel() }()
	code, err := c.Run(ctx, Request{Args: []string{"up"}, Dir: "/", Env: helperEnv("stubborn"), Grace: 50 * time.Millisecond}, nil, out, io.Discard)
	var ee *ExitError
	if code != -1 || !errors.As(err, &ee) || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("code %d, err %v: want the process killed", code, err)
	}
}

// A bot killed mid-operation never sends the kill: the runner must not leave its process running.
func TestDisconnectedClientsProcessIsStopped(t *testing.T) {
	t.Parallel()
	c, logs := runner(t)
	conn, err := c.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, `{"args":["up"],"dir":"/","env":["STAGECOACH_REMOTEEXEC_HELPER=stubborn"],"grace":50000000}`+"\n"); err != nil {
		t.Fatal(err)
	}
	in := bufio.NewReader(conn)
	if kind, payload, err := readFrame(in); err != nil || kind != frameStdout || !strings.Contains(string(payload), "ready") {
		t.Fatalf("first frame %c %q %v", kind, payload, err)
	}
	_ = conn.Close() // the bot dies
	for line := range logs {
		if strings.HasPrefix(line, "runner: ended") {
			if !strings.Contains(line, "code=-1") {
				t.Fatalf("the process ended with %q, want killed (-1)", line)
			}
			return
		}
	}
}

func TestDialWaitsForARunnerThatIsStarting(t *testing.T) {
	t.Parallel()
	exe, _ := os.Executable()
	sock := filepath.Join(shortTempDir(t), "late.sock")
	c := &Client{Socket: sock}
	retried := make(chan struct{})
	c.onRetry = func() {
		select {
		case <-retried:
		default:
			close(retried)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), Request{Args: []string{"x"}, Dir: "/", Env: helperEnv("exit")}, nil, io.Discard, io.Discard)
		done <- err
	}()
	<-retried // the client found no socket and waits
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = (&Server{Command: exe}).Serve(ctx, ln) }()
	var ee *ExitError
	if err := <-done; !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("Run = %v, want the process's exit 7 once the runner listened", err)
	}
}

func TestNoRunnerSaysWhatToStart(t *testing.T) {
	t.Parallel()
	c := &Client{Socket: filepath.Join(t.TempDir(), "none.sock"), DialWait: time.Millisecond}
	_, err := c.Run(context.Background(), Request{Args: []string{"x"}, Dir: "/"}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "STAGECOACH_PULUMI_RUNNER="+c.Socket) || !strings.Contains(err.Error(), "bot runner") {
		t.Fatalf("err = %v", err)
	}
}

func TestBadRequestsAreRefused(t *testing.T) {
	t.Parallel()
	c, _ := runner(t)
	for name, req := range map[string]Request{
		"no args": {Dir: "/"},
		"no dir":  {Args: []string{"up"}},
	} {
		code, err := c.Run(context.Background(), req, nil, io.Discard, io.Discard)
		if code != -1 || err == nil || !strings.Contains(err.Error(), "runner: the request names no") {
			t.Errorf("%s: code %d, err %v", name, code, err)
		}
	}
	code, err := c.Run(context.Background(), Request{Args: []string{"x"}, Dir: "/does/not/exist", Env: helperEnv("exit")}, nil, io.Discard, io.Discard)
	if code != -1 || err == nil || !strings.Contains(err.Error(), "starting") {
		t.Errorf("missing dir: code %d, err %v", code, err)
	}
}

func TestListenRefusesToRemoveAFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.db")
	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a file = %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Fatal("the file was touched")
	}
	sock := filepath.Join(shortTempDir(t), "s.sock")
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(sock)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v; want 0600", info.Mode(), err)
	}
	// A runner killed without closing leaves its socket behind; the next one replaces it.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = ln.Close()
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("the stale socket is gone already: %v", err)
	}
	ln, err = Listen(sock)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	_ = ln.Close()
}

// chanHandler sends each record's message and attributes as one line.
type chanHandler struct{ ch chan<- string }

func (h chanHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h chanHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.ch <- b.String()
	return nil
}
func (h chanHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h chanHandler) WithGroup(string) slog.Handler      { return h }

func TestCheckSeesTheSameFiles(t *testing.T) {
	t.Parallel()
	c, _ := runner(t)
	dir := t.TempDir()
	if err := c.Check(context.Background(), []string{dir}); err != nil {
		t.Fatalf("Check of a shared directory: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("Check left %q behind", left)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := c.Run(context.Background(), Request{Check: map[string]string{other: "mine", filepath.Join(dir, "gone"): "x"}}, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), other+": holds other content") || !strings.Contains(err.Error(), "gone: open") {
		t.Fatalf("Check = %v", err)
	}
}
