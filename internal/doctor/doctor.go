// Package doctor runs the environment checks behind `bot doctor` and prints one line per check.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// DefaultTimeout bounds a check whose Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Check is one thing `bot doctor` verifies.
type Check struct {
	// Name is what the line starts with, e.g. "Pulumi CLI".
	Name string
	// Required makes Run report failure when this check fails. Default false: a failure is printed
	// but does not fail the run.
	Required bool
	// Run performs the check and returns a short detail for the success line, or an error. Return
	// Skip(reason) when the check cannot be performed here; that is neither a pass nor a failure.
	Run func(ctx context.Context) (detail string, err error)
	// Fix is the hint printed under a failure: what the operator should do. Default "": none.
	Fix string
	// Timeout bounds Run; a check still running after it is reported as timed out. Default DefaultTimeout.
	Timeout time.Duration
}

// Skip returns the error a check returns when it cannot check anything here, e.g. a cloud backend
// without credentials. Run prints it with "–" and it does not fail the run.
func Skip(reason string) error { return &skipError{reason: reason} }

type skipError struct{ reason string }

func (e *skipError) Error() string { return "not checked: " + e.reason }

// Status is how a check ended.
type Status string

const (
	Passed     Status = "pass"
	Failed     Status = "fail"
	NotChecked Status = "skip"
)

// Result is one check's outcome.
type Result struct {
	Check Check
	// Status is how it ended.
	Status Status
	// Detail is the success detail, the error or the reason it was not checked.
	Detail string
}

// Evaluate runs the checks concurrently and returns their results in the order given. A check
// that panics or outlives its timeout has failed.
func Evaluate(ctx context.Context, checks []Check) []Result {
	results := make([]chan outcome, len(checks))
	for i, c := range checks {
		results[i] = make(chan outcome, 1)
		go func() { results[i] <- runOne(ctx, c) }()
	}
	out := make([]Result, len(checks))
	for i, c := range checks {
		r := <-results[i]
		var skip *skipError
		switch {
		case r.err == nil:
			out[i] = Result{Check: c, Status: Passed, Detail: r.detail}
		case errors.As(r.err, &skip):
			out[i] = Result{Check: c, Status: NotChecked, Detail: r.err.Error()}
		default:
			out[i] = Result{Check: c, Status: Failed, Detail: r.err.Error()}
		}
	}
	return out
}

// OK reports whether every required check passed or was not checked.
func OK(results []Result) bool {
	for _, r := range results {
		if r.Status == Failed && r.Check.Required {
			return false
		}
	}
	return true
}

// Run runs the checks (Evaluate) and writes their results to w in the order given, one line each:
//
//	✓ name — detail
//	✗ name — error
//	    fix: hint
//	– name — not checked: reason
//
// followed by a summary line. Run reports whether every required check passed.
func Run(ctx context.Context, w io.Writer, checks []Check) (ok bool) {
	results := Evaluate(ctx, checks)
	Write(w, results)
	return OK(results)
}

// Write prints results as Run describes.
func Write(w io.Writer, results []Result) {
	var passed, failed, skipped int
	var failedRequired []string
	for _, r := range results {
		c := r.Check
		switch r.Status {
		case Passed:
			passed++
			fmt.Fprintf(w, "✓ %s%s\n", c.Name, dash(r.Detail))
		case NotChecked:
			skipped++
			fmt.Fprintf(w, "– %s%s\n", c.Name, dash(r.Detail))
		default:
			failed++
			name := c.Name
			if c.Required {
				failedRequired = append(failedRequired, c.Name)
			} else {
				name += " (optional)"
			}
			fmt.Fprintf(w, "✗ %s%s\n", name, dash(r.Detail))
			if c.Fix != "" {
				fmt.Fprintf(w, "    fix: %s\n", indent(c.Fix))
			}
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d not checked", passed, failed, skipped)
	if len(failedRequired) > 0 {
		fmt.Fprintf(w, "; required checks failed: %s", strings.Join(failedRequired, ", "))
	}
	fmt.Fprintln(w)
}

type outcome struct {
	detail string
	err    error
}

// runOne runs c within its timeout, turning a panic into an error. A check that ignores its context
// is abandoned when the timeout passes.
func runOne(ctx context.Context, c Check) outcome {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- outcome{err: fmt.Errorf("check panicked: %v", r)}
			}
		}()
		if c.Run == nil {
			done <- outcome{err: errors.New("check has no Run function")}
			return
		}
		detail, err := c.Run(ctx)
		done <- outcome{detail: detail, err: err}
	}()
	select {
	case r := <-done:
		if errors.Is(r.err, context.DeadlineExceeded) && ctx.Err() != nil {
			r.err = fmt.Errorf("timed out after %s", timeout) // as when it does not return at all
		}
		return r
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return outcome{err: fmt.Errorf("timed out after %s", timeout)}
		}
		return outcome{err: ctx.Err()}
	}
}

// dash renders " — text" with continuation lines indented, or nothing for empty text.
func dash(text string) string {
	text = strings.TrimSpace(text)
	if text == "" {
		return ""
	}
	return " — " + indent(text)
}

func indent(text string) string {
	return strings.ReplaceAll(strings.TrimSpace(text), "\n", "\n    ")
}
