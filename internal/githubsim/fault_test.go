package githubsim

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
)

func TestFaults(t *testing.T) {
	t.Parallel()

	t.Run("server errors hit the next Times matching requests only", func(t *testing.T) {
		t.Parallel()
		sim, inst := newSim(t, Options{})
		gh := tokenClient(t, sim, inst)
		ctx := testContext(t)
		sim.InjectFault(Fault{Method: "GET", PathPrefix: "/repos/acme/app/pulls", Status: 502, Times: 2})
		if _, _, err := gh.Repositories.Get(ctx, "acme", "app"); err != nil {
			t.Fatalf("non-matching path failed: %v", err)
		}
		for i := range 2 {
			_, _, err := gh.PullRequests.List(ctx, "acme", "app", nil)
			var er *github.ErrorResponse
			if !errors.As(err, &er) || er.Response.StatusCode != 502 || er.Message != "Server Error" {
				t.Fatalf("request %d: %v, want 502", i, err)
			}
		}
		if _, _, err := gh.PullRequests.List(ctx, "acme", "app", nil); err != nil {
			t.Fatalf("third request: %v", err)
		}
		var faulted int
		for _, r := range sim.Requests() {
			if r.Fault {
				faulted++
			}
		}
		if faulted != 2 {
			t.Errorf("%d requests marked as faulted, want 2", faulted)
		}
	})

	t.Run("primary rate limit is a go-github RateLimitError", func(t *testing.T) {
		t.Parallel()
		sim, inst := newSim(t, Options{})
		gh := tokenClient(t, sim, inst)
		reset := time.Now().Add(time.Hour).Truncate(time.Second)
		sim.InjectFault(Fault{Status: 403, RateLimitReset: reset})
		_, _, err := gh.Repositories.Get(testContext(t), "acme", "app")
		var rl *github.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err = %T %v, want *github.RateLimitError", err, err)
		}
		if rl.Rate.Remaining != 0 || !rl.Rate.Reset.Time.Equal(reset) || !strings.HasPrefix(rl.Message, "API rate limit exceeded for installation ID") {
			t.Errorf("rate = %+v, message %q", rl.Rate, rl.Message)
		}
	})

	t.Run("secondary rate limit is a go-github AbuseRateLimitError with Retry-After", func(t *testing.T) {
		t.Parallel()
		sim, inst := newSim(t, Options{})
		gh := tokenClient(t, sim, inst)
		sim.InjectFault(Fault{Method: "POST", Status: 403, RetryAfter: 1500 * time.Millisecond})
		_, _, err := gh.Issues.CreateComment(testContext(t), "acme", "app", mustPR(t, sim, "alice"), &github.IssueComment{Body: github.String("x")})
		var ab *github.AbuseRateLimitError
		if !errors.As(err, &ab) {
			t.Fatalf("err = %T %v, want *github.AbuseRateLimitError", err, err)
		}
		if ab.GetRetryAfter() != 2*time.Second || !strings.HasPrefix(ab.Message, "You have exceeded a secondary rate limit") {
			t.Errorf("retry after %v, message %q", ab.GetRetryAfter(), ab.Message)
		}
	})

	t.Run("429 carries the secondary limit headers and body", func(t *testing.T) {
		t.Parallel()
		sim, inst := newSim(t, Options{})
		tok, _ := sim.InstallationToken(inst)
		sim.InjectFault(Fault{Status: 429, RetryAfter: time.Minute})
		req, _ := http.NewRequest("GET", sim.URL()+"repos/acme/app", nil)
		req.Header.Set("Authorization", "token "+tok)
		resp, err := (&http.Client{Transport: transport(t)}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "60" {
			t.Errorf("got %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	})

	t.Run("a failing token exchange surfaces through ghinstallation", func(t *testing.T) {
		t.Parallel()
		sim, inst := newSim(t, Options{})
		sim.InjectFault(Fault{PathPrefix: "/app/installations/", Status: 500, Times: -1})
		gh := installationClient(t, sim, inst)
		if _, _, err := gh.Repositories.Get(testContext(t), "acme", "app"); err == nil {
			t.Fatal("request succeeded although the token exchange fails")
		}
		sim.ClearFaults()
		if _, _, err := gh.Repositories.Get(testContext(t), "acme", "app"); err != nil {
			t.Fatalf("after ClearFaults: %v", err)
		}
	})

	t.Run("latency delays the answer", func(t *testing.T) {
		t.Parallel()
		sim, inst := newSim(t, Options{})
		gh := tokenClient(t, sim, inst)
		sim.InjectFault(Fault{Latency: 50 * time.Millisecond})
		start := time.Now()
		if _, _, err := gh.Repositories.Get(testContext(t), "acme", "app"); err != nil {
			t.Fatal(err)
		}
		if elapsed := time.Since(start); elapsed < 50*time.Millisecond {
			t.Errorf("answered after %v, before the injected latency", elapsed)
		}
	})

	t.Run("latency ends when the client gives up", func(t *testing.T) {
		t.Parallel()
		sim, inst := newSim(t, Options{})
		gh := tokenClient(t, sim, inst)
		sim.InjectFault(Fault{Latency: time.Hour})
		ctx, cancel := context.WithCancel(testContext(t))
		errc := make(chan error, 1)
		go func() {
			_, _, err := gh.Repositories.Get(ctx, "acme", "app")
			errc <- err
		}()
		// Wait until the server holds the request, then give up.
		waitCtx := testContext(t)
		err := sim.WaitFor(waitCtx, func() bool {
			sim.mu.Lock()
			defer sim.mu.Unlock()
			return len(sim.faults) == 0 // the fault was taken by the request
		})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("client err = %v, want context.Canceled", err)
		}
		if err := sim.WaitFor(waitCtx, func() bool { return len(sim.Requests()) == 1 }); err != nil {
			t.Fatalf("the abandoned request was never recorded: %v", err)
		}
		if r := sim.Requests()[0]; !r.Fault || r.Status != 0 {
			t.Errorf("request = %+v, want a faulted request with no answer", r)
		}
	})

	t.Run("Close releases a request held by latency", func(t *testing.T) {
		t.Parallel()
		sim, inst := newSim(t, Options{})
		gh := tokenClient(t, sim, inst)
		sim.InjectFault(Fault{Latency: time.Hour})
		errc := make(chan error, 1)
		go func() {
			_, _, err := gh.Repositories.Get(testContext(t), "acme", "app")
			errc <- err
		}()
		err := sim.WaitFor(testContext(t), func() bool {
			sim.mu.Lock()
			defer sim.mu.Unlock()
			return len(sim.faults) == 0
		})
		if err != nil {
			t.Fatal(err)
		}
		sim.Close() // must not wait an hour
		if err := <-errc; statusOf(err) != http.StatusServiceUnavailable {
			t.Errorf("held request ended with %v, want 503", err)
		}
	})
}
