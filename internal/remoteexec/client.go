package remoteexec

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Client runs processes through a runner's socket. It is safe for concurrent use.
type Client struct {
	// Socket is the absolute path of the runner's Unix socket.
	Socket string
	// DialWait is how long Run keeps trying while the socket does not exist yet or refuses, as while
	// the runner's container is still starting beside the bot's. Default 60s.
	DialWait time.Duration

	onRetry func() // tests: called before each pause for a runner that is not listening yet
}

// dialPoll is the pause between attempts to reach a runner that is not listening yet.
const dialPoll = 200 * time.Millisecond

// dial connects, waiting for a runner that is still starting.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	wait := c.DialWait
	if wait <= 0 {
		wait = 60 * time.Second
	}
	deadline := time.Now().Add(wait)
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "unix", c.Socket)
		if err == nil {
			return conn, nil
		}
		starting := errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)
		if !starting || time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("the Pulumi runner at %s does not answer: %w (is `bot runner` running with STAGECOACH_PULUMI_RUNNER=%s, "+
				"as the chart's pulumi container does?)", c.Socket, err, c.Socket)
		}
		if c.onRetry != nil {
			c.onRetry()
		}
		t := time.NewTimer(dialPoll)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// Run runs req on the runner with stdin (may be nil) and copies the process's output to stdout and
// stderr. When ctx ends the process is interrupted, and killed if it has not exited grace later
// (req.Grace). It returns the exit code, and an *ExitError for a code other than 0.
func (c *Client) Run(ctx context.Context, req Request, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return -1, err
	}
	defer func() { _ = conn.Close() }()
	line, err := json.Marshal(req)
	if err != nil {
		return -1, fmt.Errorf("encoding the runner request: %w", err)
	}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		return -1, fmt.Errorf("sending the request to the Pulumi runner: %w", err)
	}
	w := &lockedWriter{w: conn}
	finished := make(chan struct{})
	defer close(finished)
	go sendStdin(w, stdin, finished)
	go forwardCancel(ctx, w, conn, req.Grace, finished)
	return receive(bufio.NewReader(conn), stdout, stderr)
}

// receive copies output frames until the exit frame.
func receive(in *bufio.Reader, stdout, stderr io.Writer) (int, error) {
	for {
		kind, payload, err := readFrame(in)
		if err != nil {
			return -1, fmt.Errorf("the Pulumi runner went away before the process ended: %w", err)
		}
		switch kind {
		case frameStdout:
			_, _ = stdout.Write(payload)
		case frameStderr:
			_, _ = stderr.Write(payload)
		case frameExit:
			var ex Exit
			if err := json.Unmarshal(payload, &ex); err != nil {
				return -1, fmt.Errorf("reading the runner's exit frame: %w", err)
			}
			if ex.Code == 0 && ex.Error == "" {
				return 0, nil
			}
			return ex.Code, &ExitError{ex}
		}
	}
}

// sendStdin copies stdin as frames, then says it ended.
func sendStdin(w *lockedWriter, stdin io.Reader, finished <-chan struct{}) {
	if stdin != nil {
		buf := make([]byte, 32<<10)
		for {
			select {
			case <-finished:
				return
			default:
			}
			n, err := stdin.Read(buf)
			if n > 0 && w.frame(frameStdin, buf[:n]) != nil {
				return
			}
			if err != nil {
				break
			}
		}
	}
	_ = w.frame(frameStdinEOF, nil)
}

// drainWait bounds waiting for the exit frame after the kill was sent; then the connection is closed.
const drainWait = 5 * time.Second

// forwardCancel interrupts the remote process when ctx ends, kills it grace later, and gives up on a
// runner that still does not answer drainWait after that.
func forwardCancel(ctx context.Context, w *lockedWriter, conn io.Closer, grace time.Duration, finished <-chan struct{}) {
	select {
	case <-finished:
		return
	case <-ctx.Done():
	}
	_ = w.frame(frameSignal, []byte(signalInterrupt))
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-finished:
	case <-t.C:
		_ = w.frame(frameSignal, []byte(signalKill))
	}
	t.Reset(drainWait)
	select {
	case <-finished:
	case <-t.C:
		_ = conn.Close()
	}
}

// Check writes a file with a random token into each of dirs and asks the runner whether it reads the
// same there: it fails, naming the directories, when the runner's container mounts another volume
// at one of those paths or none. The files are removed again.
func (c *Client) Check(ctx context.Context, dirs []string) error {
	files := map[string]string{}
	defer func() {
		for path := range files {
			_ = os.Remove(path)
		}
	}()
	for _, dir := range dirs {
		token := rand.Text()
		path := filepath.Join(dir, ".stagecoach-runner-check-"+token)
		if err := os.WriteFile(path, []byte(token), 0o644); err != nil {
			return fmt.Errorf("writing a check file for the Pulumi runner: %w", err)
		}
		files[path] = token
	}
	_, err := c.Run(ctx, Request{Check: files}, nil, io.Discard, io.Discard)
	return err
}
