package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Subject is something Converge brings to what the store says is wanted.
type Subject struct {
	// Key names its lease, e.g. "ephemeral:owner/repo#12".
	Key string
	// TTL is the lease's; 0 means DefaultTTL.
	TTL time.Duration
	// Pending reports whether the store wants something done that Work can do now. It is asked
	// after the lease was let go, so it must read the store, not memory.
	Pending func(ctx context.Context) (bool, error)
	// Work does what is wanted, holding the lease; its context ends when the lease is lost. It
	// should loop until nothing is pending, but need not: Converge asks Pending again.
	Work func(ctx context.Context) error
	// Retry is the pause after the n-th failure in a row (n ≥ 1); nil means Backoff.
	Retry func(n int) time.Duration
	// Logger receives lease problems. Default: discarded.
	Logger *slog.Logger
}

// Backoff is the default pause after n failures in a row: 5s, 10s, 20s … up to 10 minutes.
func Backoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// maxRounds bounds Converge's loop, so a Pending that Work cannot satisfy (a bug) costs a log line
// per sweep instead of a busy worker.
const maxRounds = 20

// Converge works s while holding its lease, and again whenever Pending says there is more once
// the lease was let go. It returns nil at once when another holder has the lease (that holder, or
// the next sweep after it crashed, takes the change up). When Work fails, the lease is parked for
// a growing pause (Retry) so that no sweep retries sooner, and the error is returned for the log:
// the caller's job should not be retried by the queue as well, since the sweep does it.
func Converge(ctx context.Context, t Table, s Subject) error {
	if s.Retry == nil {
		s.Retry = Backoff
	}
	for round := 0; ; round++ {
		if round == maxRounds {
			return fmt.Errorf("%s: still pending after %d rounds of work; the next sweep looks again", s.Key, maxRounds)
		}
		prev, _, err := t.LeaseHolder(ctx, s.Key)
		if err != nil {
			return fmt.Errorf("reading lease %s: %w", s.Key, err)
		}
		h, ok, err := TryHold(ctx, t, s.Key, s.TTL, s.Logger)
		if err != nil {
			return fmt.Errorf("taking lease %s: %w", s.Key, err)
		}
		if !ok {
			return nil
		}
		werr := s.Work(h.Context())
		if werr == nil && h.Lost() {
			werr = ErrLost
		}
		if werr != nil {
			if ctx.Err() != nil || errors.Is(werr, ErrLost) {
				// Shutting down, or someone else has it: let the next holder start at once.
				h.Release()
				return werr
			}
			n := Failures(prev) + 1
			h.Park(s.Retry(n), n)
			return fmt.Errorf("%w (failure %d in a row; retried in %s)", werr, n, s.Retry(n))
		}
		h.Release()
		more, err := s.Pending(ctx)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}
