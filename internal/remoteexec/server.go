package remoteexec

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Server runs the Pulumi CLI for clients. The zero value is not usable: Command is required.
type Server struct {
	// Command is the absolute path of the Pulumi CLI; it is the only program the server runs.
	Command string
	// Log receives one line per process (arguments without values are not secrets; the environment is
	// never logged). Default: discard.
	Log *slog.Logger

	wg sync.WaitGroup
}

// Listen makes the Unix socket at path, removing a socket a previous runner left behind (never any
// other kind of file), with mode 0600: only this user — the bot's — may connect.
func Listen(path string) (net.Listener, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("the runner socket %q must be an absolute path", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the directory of the runner socket: %w", err)
	}
	if info, err := os.Lstat(path); err == nil {
		if info.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; remove it or choose another STAGECOACH_PULUMI_RUNNER", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing the old runner socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on the runner socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("making the runner socket private: %w", err)
	}
	return ln, nil
}

// Serve runs a process for each connection until ctx ends, then closes ln, interrupts the processes
// still running (killing them after their grace) and waits for them.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !filepath.IsAbs(s.Command) {
		return fmt.Errorf("runner: the Pulumi CLI path %q is not absolute", s.Command)
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("runner: accepting a connection: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { _ = conn.Close() }()
			s.handle(ctx, conn, log)
		}()
	}
}

// handle runs one request's process.
func (s *Server) handle(ctx context.Context, conn net.Conn, log *slog.Logger) {
	in := bufio.NewReader(conn)
	out := &lockedWriter{w: conn}
	req, err := readRequest(in)
	if err != nil {
		log.Warn("runner: refused a request", "err", err)
		out.exit(Exit{Code: -1, Error: "runner: " + err.Error()})
		return
	}
	if len(req.Check) > 0 {
		out.exit(check(req.Check))
		return
	}
	cmd := exec.Command(s.Command, req.Args...)
	cmd.Dir = req.Dir
	cmd.Env = req.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdout = frameWriter{out, frameStdout}
	cmd.Stderr = frameWriter{out, frameStderr}
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		out.exit(Exit{Code: -1, Error: fmt.Sprintf("runner: starting %s: %v", filepath.Base(s.Command), err)})
		return
	}
	log.Info("runner: started", "pid", cmd.Process.Pid, "command", subcommand(req.Args))
	done := make(chan struct{})
	go s.follow(ctx, in, stdin, cmd.Process, req.Grace, done)
	werr := cmd.Wait()
	close(done)
	ex := Exit{Code: cmd.ProcessState.ExitCode()}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		ex.Error = "runner: " + werr.Error()
	} else if ex.Code == -1 {
		ex.Error = "runner: " + cmd.ProcessState.String()
	}
	log.Info("runner: ended", "pid", cmd.Process.Pid, "code", ex.Code)
	out.exit(ex)
}

// follow passes the client's stdin and signals to the process. When the client disconnects, or the
// server stops, before the process ended, the process is interrupted and killed grace later.
func (s *Server) follow(ctx context.Context, in *bufio.Reader, stdin io.WriteCloser, p *os.Process, grace time.Duration, done <-chan struct{}) {
	frames := make(chan error, 1)
	go func() {
		for {
			kind, payload, err := readFrame(in)
			if err != nil {
				frames <- err
				return
			}
			switch kind {
			case frameStdin:
				_, _ = stdin.Write(payload)
			case frameStdinEOF:
				_ = stdin.Close()
			case frameSignal:
				sendSignal(p, string(payload))
			}
		}
	}()
	select {
	case <-done:
		return
	case <-frames:
	case <-ctx.Done():
	}
	// The client is gone (or the runner stops): nobody will send the kill; do it ourselves.
	_ = stdin.Close()
	sendSignal(p, signalInterrupt)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		sendSignal(p, signalKill)
	}
}

// check reports the files that do not hold what the client wrote into them.
func check(files map[string]string) Exit {
	var bad []string
	for _, path := range slices.Sorted(maps.Keys(files)) {
		b, err := readSmall(path, len(files[path]))
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: %v", path, err))
		case string(b) != files[path]:
			bad = append(bad, path+": holds other content (another volume is mounted there)")
		}
	}
	if len(bad) > 0 {
		return Exit{Code: 1, Error: "the runner does not see: " + strings.Join(bad, "; ")}
	}
	return Exit{}
}

// readSmall reads at most n+1 bytes of a file.
func readSmall(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	return io.ReadAll(io.LimitReader(f, int64(n)+1))
}

func sendSignal(p *os.Process, name string) {
	switch name {
	case signalInterrupt:
		_ = p.Signal(os.Interrupt)
	case signalKill:
		_ = p.Kill()
	}
}

// subcommand is the first argument that is not a flag, for the log ("up", "preview", "stack").
func subcommand(args []string) string {
	for _, a := range args {
		if len(a) > 0 && a[0] != '-' {
			return a
		}
	}
	return ""
}

// lockedWriter serialises frames from the stdout and stderr copiers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) frame(kind byte, p []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return writeFrame(l.w, kind, p)
}

func (l *lockedWriter) exit(e Exit) {
	b, _ := json.Marshal(e)
	_ = l.frame(frameExit, b)
}

// frameWriter writes a stream as frames of one kind, in pieces no larger than maxFrame.
type frameWriter struct {
	l    *lockedWriter
	kind byte
}

func (f frameWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxFrame)]
		if err := f.l.frame(f.kind, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}
