// Package remoteexec runs the Pulumi CLI in another process — the `bot runner` — on behalf of the bot,
// over a Unix socket. The runner lives in its own container (or under its own user) without the bot's
// secret files, database or process memory, so a pull request's Pulumi program, which runs as a child
// of the CLI, reaches none of them. Kubernetes' Pod Security "restricted" level forbids the other way
// of getting there (a root bot switching users), which is why the chart uses this one.
//
// One connection runs one process. The client sends a Request as one JSON line, then frames; the
// server answers with frames and closes:
//
//	client → server   'i' stdin bytes · 'I' end of stdin · 's' signal ("interrupt" or "kill")
//	server → client   'o' stdout bytes · 'e' stderr bytes · 'x' exit (JSON Exit), the last frame
//
// A frame is one type byte, a big-endian uint32 length and that many bytes. When the client goes away
// before the process ended (the bot was killed), the server interrupts the process and kills it after
// the request's grace, as the bot itself would have done.
package remoteexec

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Request is what the client asks the runner to run. The runner runs its own Pulumi CLI; the request
// names only the arguments, the directory and the complete environment.
type Request struct {
	Args []string `json:"args"`
	Dir  string   `json:"dir"`
	// Env is the process's whole environment: the runner adds nothing of its own.
	Env []string `json:"env"`
	// Grace is the time between SIGINT and SIGKILL when the client disconnects without waiting.
	Grace time.Duration `json:"grace"`
	// Check, when set, runs no process: the runner reads each named file and answers whether each
	// holds exactly the given content, which proves both sides see the same directories at the
	// same paths (Client.Check).
	Check map[string]string `json:"check,omitempty"`
}

// Exit is the last frame: how the process ended.
type Exit struct {
	// Code is the exit code; -1 when the process was killed by a signal or never started.
	Code int `json:"code"`
	// Error describes a process that could not start or did not end normally ("" for an exit code).
	Error string `json:"error,omitempty"`
}

const (
	frameStdin    byte = 'i'
	frameStdinEOF byte = 'I'
	frameSignal   byte = 's'
	frameStdout   byte = 'o'
	frameStderr   byte = 'e'
	frameExit     byte = 'x'

	signalInterrupt = "interrupt"
	signalKill      = "kill"
)

// maxFrame bounds a frame's payload: a peer announcing more is broken or hostile.
const maxFrame = 1 << 20

// maxRequest bounds the request line (arguments and environment).
const maxRequest = 1 << 20

func writeFrame(w io.Writer, kind byte, payload []byte) error {
	var hdr [5]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	if _, err := w.Write(append(hdr[:], payload...)); err != nil {
		return err
	}
	return nil
}

func readFrame(r *bufio.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("a frame of %d bytes is larger than the limit of %d", n, maxFrame)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

// readRequest reads the request line.
func readRequest(r *bufio.Reader) (Request, error) {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return Request{}, fmt.Errorf("reading the request: %w", err)
		}
		line = append(line, chunk...)
		if len(line) > maxRequest {
			return Request{}, fmt.Errorf("the request is larger than %d bytes", maxRequest)
		}
		if !isPrefix {
			break
		}
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		return Request{}, fmt.Errorf("reading the request: %w", err)
	}
	if len(req.Check) > 0 {
		return req, nil
	}
	if len(req.Args) == 0 {
		return Request{}, errors.New("the request names no arguments")
	}
	if req.Dir == "" {
		return Request{}, errors.New("the request names no working directory")
	}
	return req, nil
}

// ExitError reports a process that ran and exited with a code other than 0, or ended otherwise.
type ExitError struct {
	Exit
}

func (e *ExitError) Error() string {
	if e.Exit.Error != "" {
		return e.Exit.Error
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExitCode returns the process's exit code (-1 when it did not exit normally).
func (e *ExitError) ExitCode() int { return e.Code }
