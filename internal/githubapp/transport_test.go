package githubapp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/githubapp"
)

// script answers requests from a list of handlers, one per request, then 200s.
type script struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	bodies  []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b := new(strings.Builder)
	if r.Body != nil {
		buf := make([]byte, 1024)
		n, _ := r.Body.Read(buf)
		b.Write(buf[:n])
	}
	s.bodies = append(s.bodies, b.String())
	var a func(http.ResponseWriter)
	if len(s.answers) > 0 {
		a, s.answers = s.answers[0], s.answers[1:]
	}
	s.mu.Unlock()
	if a == nil {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id": 1, "body": "ok"}`))
		return
	}
	a(w)
}

func status(code int, headers ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write([]byte(`{"message": "simulated"}`))
	}
}

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func newClient(t *testing.T, sc *script, now time.Time, sl *sleeps) *github.Client {
	t.Helper()
	srv := httptest.NewServer(sc)
	t.Cleanup(srv.Close)
	tr := &githubapp.RetryTransport{MaxRetries: 3, MaxWait: time.Minute, Now: func() time.Time { return now }, Sleep: sl.Sleep}
	c, err := github.NewClient(&http.Client{Transport: tr}).WithEnterpriseURLs(srv.URL+"/", srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL, _ = c.BaseURL.Parse(srv.URL + "/")
	return c
}

func TestRetryTransport(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()

	t.Run("server errors on reads are retried with backoff", func(t *testing.T) {
		t.Parallel()
		sc := &script{answers: []func(http.ResponseWriter){status(502), status(500)}}
		sl := &sleeps{}
		c := newClient(t, sc, now, sl)
		if _, _, err := c.Issues.GetComment(ctx, "o", "r", 1); err != nil {
			t.Fatalf("want success after retries: %v", err)
		}
		if len(sl.d) != 2 || sl.d[1] < sl.d[0]/2 {
			t.Fatalf("waits = %v, want two growing backoffs", sl.d)
		}
	})

	t.Run("a 500 on a create is not repeated", func(t *testing.T) {
		t.Parallel()
		sc := &script{answers: []func(http.ResponseWriter){status(500)}}
		sl := &sleeps{}
		c := newClient(t, sc, now, sl)
		_, _, err := c.Issues.CreateComment(ctx, "o", "r", 1, &github.IssueComment{Body: github.String("hi")})
		if err == nil || len(sc.bodies) != 1 {
			t.Fatalf("err = %v after %d requests; want the 500 returned after one request", err, len(sc.bodies))
		}
	})

	t.Run("a secondary rate limit is waited out as Retry-After says, body resent", func(t *testing.T) {
		t.Parallel()
		sc := &script{answers: []func(http.ResponseWriter){status(403, "Retry-After", "7")}}
		sl := &sleeps{}
		c := newClient(t, sc, now, sl)
		if _, _, err := c.Issues.CreateComment(ctx, "o", "r", 1, &github.IssueComment{Body: github.String("hello")}); err != nil {
			t.Fatal(err)
		}
		if len(sl.d) != 1 || sl.d[0] != 7*time.Second {
			t.Fatalf("waits = %v, want [7s]", sl.d)
		}
		if len(sc.bodies) != 2 || !strings.Contains(sc.bodies[1], "hello") {
			t.Fatalf("bodies = %q, want the body sent twice", sc.bodies)
		}
	})

	t.Run("a primary rate limit waits until the reset", func(t *testing.T) {
		t.Parallel()
		reset := strconv.FormatInt(now.Add(20*time.Second).Unix(), 10)
		sc := &script{answers: []func(http.ResponseWriter){status(403, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset)}}
		sl := &sleeps{}
		c := newClient(t, sc, now, sl)
		if _, _, err := c.Issues.GetComment(ctx, "o", "r", 1); err != nil {
			t.Fatal(err)
		}
		if len(sl.d) != 1 || sl.d[0] != 21*time.Second {
			t.Fatalf("waits = %v, want [21s]", sl.d)
		}
	})

	t.Run("a rate limit longer than MaxWait comes back as go-github's error with when to retry", func(t *testing.T) {
		t.Parallel()
		reset := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
		sc := &script{answers: []func(http.ResponseWriter){func(w http.ResponseWriter) {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Limit", "5000")
			w.Header().Set("X-RateLimit-Reset", reset)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(403)
			w.Write([]byte(`{"message": "API rate limit exceeded for installation ID 1."}`))
		}}}
		sl := &sleeps{}
		c := newClient(t, sc, now, sl)
		_, _, err := c.Issues.GetComment(ctx, "o", "r", 1)
		var rl *github.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err = %v, want *github.RateLimitError", err)
		}
		if d, ok := githubapp.RetryAfter(err, now); !ok || d < time.Hour {
			t.Fatalf("RetryAfter = %v, %v; want about an hour", d, ok)
		}
		if len(sl.d) != 0 {
			t.Fatalf("waited %v in place", sl.d)
		}
	})

	t.Run("a forbidden answer that is no rate limit is returned at once", func(t *testing.T) {
		t.Parallel()
		sc := &script{answers: []func(http.ResponseWriter){status(403)}}
		sl := &sleeps{}
		c := newClient(t, sc, now, sl)
		if _, _, err := c.Issues.GetComment(ctx, "o", "r", 1); err == nil || len(sc.bodies) != 1 {
			t.Fatalf("err = %v after %d requests", err, len(sc.bodies))
		}
	})

	t.Run("retries stop after MaxRetries", func(t *testing.T) {
		t.Parallel()
		sc := &script{answers: []func(http.ResponseWriter){status(502), status(502), status(502), status(502), status(502)}}
		sl := &sleeps{}
		c := newClient(t, sc, now, sl)
		if _, _, err := c.Issues.GetComment(ctx, "o", "r", 1); err == nil {
			t.Fatal("want the last 502")
		}
		if len(sc.bodies) != 4 {
			t.Fatalf("%d requests, want 1 + 3 retries", len(sc.bodies))
		}
	})
}

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	t.Run("not PEM is named without quoting the input", func(t *testing.T) {
		t.Parallel()
		err := githubapp.ParsePrivateKey([]byte("hunter2-secret"))
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a PEM block that is no RSA key is refused", func(t *testing.T) {
		t.Parallel()
		err := githubapp.ParsePrivateKey([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
		if err == nil {
			t.Fatal("want an error")
		}
	})
}
