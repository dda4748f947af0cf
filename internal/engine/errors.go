package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// Errors callers can test with errors.Is.
var (
	// ErrStackNotFound reports an operation on a stack that does not exist.
	ErrStackNotFound = errors.New("stack not found")
	// ErrLeaseLost reports an operation stopped because its stack lease could not be renewed
	// (another replica may have taken the stack over).
	ErrLeaseLost = errors.New("stack lease lost")
	// ErrInvalidRequest reports a request the Runner refuses before running anything.
	ErrInvalidRequest = errors.New("invalid request")
)

// OperationError is the error of an operation that ran and failed. Its Result says what happened
// before the failure; Err is the underlying error (errors.Is/As see through it).
type OperationError struct {
	// Result is the structured outcome, with Succeeded false and Errors in plain words.
	Result Result
	// Err is the cause.
	Err error
}

// Error names the operation, the stack and the first plain-words reason.
func (e *OperationError) Error() string {
	reason := "unknown error"
	if len(e.Result.Errors) > 0 {
		reason = e.Result.Errors[0]
	} else if e.Err != nil {
		reason = e.Err.Error()
	}
	return fmt.Sprintf("%s of stack %s failed: %s", e.Result.Kind, e.Result.Stack, reason)
}

// Unwrap returns the cause.
func (e *OperationError) Unwrap() error { return e.Err }

// plainErr is an error whose text is a plain-words reason while errors.Is/As still reach the
// Automation API's error, whose own text dumps the CLI's whole output.
type plainErr struct {
	msg string
	err error
}

func (e *plainErr) Error() string { return e.msg }
func (e *plainErr) Unwrap() error { return e.err }

// plainly wraps a CLI error as "what: reason", secrets masked.
func plainly(ctx context.Context, m *masker, what string, err error) error {
	return &plainErr{msg: what + ": " + m.mask(plainError(ctx, err)), err: err}
}

// IsConcurrentUpdate reports whether err, or any error it wraps, says that another update holds the
// stack's lock (Pulumi Cloud's 409 or a DIY backend's lock file). Unlike auto.IsConcurrentUpdateError
// it does not depend on how the SDK inspects wrapped errors.
func IsConcurrentUpdate(err error) bool {
	found := false
	walkErrors(err, func(e error) bool {
		found = auto.IsConcurrentUpdateError(e)
		return !found
	})
	return found
}

// isSelectStack404 is auto.IsSelectStack404Error on any error in the tree.
func isSelectStack404(err error) bool {
	found := false
	walkErrors(err, func(e error) bool {
		found = auto.IsSelectStack404Error(e)
		return !found
	})
	return found
}

// walkErrors calls visit on err and everything it wraps, depth first, until visit returns false.
func walkErrors(err error, visit func(error) bool) bool {
	if err == nil {
		return true
	}
	if !visit(err) {
		return false
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return walkErrors(u.Unwrap(), visit)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if !walkErrors(e, visit) {
				return false
			}
		}
	}
	return true
}

// plainError says in a sentence why an operation failed, without the CLI's stdout dump.
func plainError(ctx context.Context, err error) string {
	var timeout *TimeoutError
	switch {
	case errors.As(context.Cause(ctx), &timeout) || errors.As(err, &timeout):
		return timeout.Error()
	case errors.Is(context.Cause(ctx), ErrLeaseLost) || errors.Is(err, ErrLeaseLost):
		return "the operation was stopped because its stack lease could not be renewed"
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return "the operation was cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "the operation timed out"
	case IsConcurrentUpdate(err):
		return "the stack is locked by another update"
	}
	text := err.Error()
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(stripANSI(line))
		// The Automation API's error text puts the CLI's streams after "stdout: " and "stderr: ".
		line = strings.TrimPrefix(strings.TrimPrefix(line, "stderr: "), "stdout: ")
		if len(line) > len("error: ") && strings.EqualFold(line[:len("error: ")], "error: ") {
			lines = append(lines, line[len("error: "):])
		}
	}
	if len(lines) > 0 {
		return strings.Join(lines, "; ")
	}
	first, _, _ := strings.Cut(text, "\n")
	return strings.TrimSpace(first)
}

// TimeoutError reports an operation stopped because it ran longer than Config.OperationTimeout.
type TimeoutError struct {
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the operation timed out after %s and was cancelled; the stack may be partly updated "+
		"(raise STAGECOACH_OPERATION_TIMEOUT if the cloud needs longer)", e.After)
}

// Is makes a TimeoutError match context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
