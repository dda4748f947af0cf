package githubapp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// RetryTransport retries GitHub API calls that failed for a reason that may pass:
// 5xx answers and network errors (for methods that are safe to repeat), and primary
// and secondary rate limits (for every method: GitHub did not process the request).
// It waits as Retry-After or X-RateLimit-Reset says, up to MaxWait; a longer wait is
// not taken and the rate-limit answer is returned, so go-github turns it into a
// *github.RateLimitError or *github.AbuseRateLimitError and the job can snooze.
type RetryTransport struct {
	// Base does the requests. Default http.DefaultTransport.
	Base http.RoundTripper
	// MaxRetries bounds retries per request. Default 4.
	MaxRetries int
	// MaxWait bounds one wait for a rate limit. Default 1m.
	MaxWait time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry is told each retry's reason (server_error, network, rate_limit); optional.
	OnRetry func(reason string)
	// Logger receives a line per retry. Default: discard.
	Logger *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	maxRetries := t.MaxRetries
	if maxRetries == 0 {
		maxRetries = 4
	}
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			var err error
			if r, err = rewind(req); err != nil {
				return nil, err
			}
		}
		resp, err := base.RoundTrip(r)
		if attempt >= maxRetries {
			return resp, err
		}
		wait, reason, retry := t.decide(req, resp, err, attempt)
		if !retry {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // draining to reuse the connection
			resp.Body.Close()
		}
		if t.OnRetry != nil {
			t.OnRetry(reason)
		}
		t.logger().Info("retrying GitHub API call", "method", req.Method, "path", req.URL.Path,
			"reason", reason, "wait", wait, "attempt", attempt+1)
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// decide says whether to retry, after how long, and why.
func (t *RetryTransport) decide(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, string, bool) {
	if err != nil {
		if req.Context().Err() != nil {
			return 0, "", false
		}
		// A request that never reached GitHub is safe to repeat whatever its method.
		var opErr *net.OpError
		if idempotent(req.Method) || (errors.As(err, &opErr) && opErr.Op == "dial") {
			return backoff(attempt), "network", true
		}
		return 0, "", false
	}
	if wait, ok := t.rateLimitWait(resp); ok {
		if wait > t.maxWait() {
			return 0, "", false
		}
		return wait, "rate_limit", true
	}
	if resp.StatusCode >= 500 && (idempotent(req.Method) || resp.StatusCode == http.StatusServiceUnavailable) {
		return backoff(attempt), "server_error", true
	}
	return 0, "", false
}

// rateLimitWait recognises GitHub's primary and secondary rate-limit answers and how long they ask to wait.
func (t *RetryTransport) rateLimitWait(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second, true
		}
		if at, err := http.ParseTime(s); err == nil {
			return max(at.Sub(t.now()), 0), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if secs, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// One extra second: the reset is given in whole seconds.
			return max(time.Unix(secs, 0).Sub(t.now())+time.Second, 0), true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		// A secondary limit without a hint: GitHub asks to wait at least a minute.
		return time.Minute, true
	}
	return 0, false
}

func (t *RetryTransport) sleep(ctx context.Context, d time.Duration) error {
	if t.Sleep != nil {
		return t.Sleep(ctx, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *RetryTransport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *RetryTransport) maxWait() time.Duration {
	if t.MaxWait > 0 {
		return t.MaxWait
	}
	return time.Minute
}

func (t *RetryTransport) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

// backoff is exponential from 500ms with full jitter, capped at 30s.
func backoff(attempt int) time.Duration {
	d := min(500*time.Millisecond<<attempt, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// rewind returns a copy of req whose body can be sent again.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("retrying a GitHub API call: its body cannot be replayed")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r.Body = body
	return r, nil
}
