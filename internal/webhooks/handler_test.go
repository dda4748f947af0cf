package webhooks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/webhooks"
)

const secret = "s3cret"

// queue is a fake Enqueuer that dedupes by delivery id like the store does.
type queue struct {
	mu   sync.Mutex
	seen map[string]bool
	jobs []event.Args
	fail error
}

func (q *queue) EnqueueDelivery(_ context.Context, d store.Delivery, args river.JobArgs) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return false, q.fail
	}
	if q.seen[d.ID] {
		return false, nil
	}
	q.seen[d.ID] = true
	q.jobs = append(q.jobs, args.(event.Args))
	return true, nil
}

func (q *queue) count() int { q.mu.Lock(); defer q.mu.Unlock(); return len(q.jobs) }

func pr(action, sender string) string {
	return fmt.Sprintf(`{"action":%q,"number":7,"pull_request":{"number":7,"head":{"sha":"abc"}},
		"repository":{"full_name":"acme/shop","default_branch":"main"},"installation":{"id":42},
		"sender":{"login":%q,"type":"User"}}`, action, sender)
}

func comment(body, senderType string) string {
	return fmt.Sprintf(`{"action":"created","issue":{"number":7,"pull_request":{"url":"x"}},"comment":{"body":%q},
		"repository":{"full_name":"acme/shop"},"installation":{"id":42},"sender":{"login":"dev","type":%q}}`, body, senderType)
}

type request struct {
	event, id, body, signature string
	method                     string
}

func send(t *testing.T, srv *httptest.Server, r request) (int, string) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.id == "" {
		r.id = "delivery-" + r.event + fmt.Sprint(len(r.body))
	}
	req, _ := http.NewRequest(r.method, srv.URL+"/webhooks/github", strings.NewReader(r.body))
	req.Header.Set("X-GitHub-Event", r.event)
	req.Header.Set("X-GitHub-Delivery", r.id)
	sig := r.signature
	if sig == "" {
		sig = webhooks.Sign(secret, []byte(r.body))
	}
	if sig != "none" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func newServer(t *testing.T, q *queue, allow ...string) *httptest.Server {
	t.Helper()
	h, err := webhooks.New(webhooks.Options{Secret: secret, Allowlist: allow, BotLogin: "stagecoach[bot]", Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/github", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHandler(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		req       request
		allow     []string
		status    int
		queued    int
		wantInMsg string
	}{
		{name: "an opened PR is queued", req: request{event: "pull_request", body: pr("opened", "dev")}, status: 202, queued: 1},
		{name: "a missing signature is refused", req: request{event: "pull_request", body: pr("opened", "dev"), signature: "none"}, status: 401},
		{name: "a wrong signature is refused", req: request{event: "pull_request", body: pr("opened", "dev"), signature: webhooks.Sign("other", []byte(pr("opened", "dev")))}, status: 401},
		{name: "a signature that is not hex is refused", req: request{event: "pull_request", body: pr("opened", "dev"), signature: "sha256=zz"}, status: 401},
		{name: "a body that is not JSON is a bad request", req: request{event: "pull_request", body: "not json"}, status: 400, wantInMsg: "not JSON"},
		{name: "a payload that does not fit its event is a bad request", req: request{event: "pull_request", body: `{"action":"opened","pull_request":{"number":"seven"}}`}, status: 400},
		{name: "a payload without an installation is a bad request", req: request{event: "pull_request", body: `{"action":"opened","pull_request":{"number":1},"repository":{"full_name":"a/b"}}`}, status: 400, wantInMsg: "installation"},
		{name: "ping answers pong", req: request{event: "ping", body: `{"zen":"Keep it simple."}`}, status: 200, wantInMsg: "pong"},
		{name: "an event the bot does not act on is acknowledged", req: request{event: "star", body: `{"action":"created"}`}, status: 200},
		{name: "an action the bot does not act on is acknowledged", req: request{event: "pull_request", body: pr("assigned", "dev")}, status: 200},
		{name: "the bot's own events are ignored", req: request{event: "pull_request", body: pr("opened", "stagecoach[bot]")}, status: 200, wantInMsg: "this bot"},
		{name: "a repo outside the allowlist is dropped", req: request{event: "pull_request", body: pr("opened", "dev")}, allow: []string{"acme/api-*"}, status: 200, wantInMsg: "ALLOWLIST"},
		{name: "a repo matching an allowlist glob is queued", req: request{event: "pull_request", body: pr("opened", "dev")}, allow: []string{"other/*", "ACME/sh*"}, status: 202, queued: 1},
		{name: "a command comment is queued", req: request{event: "issue_comment", body: comment("/deploy", "User")}, status: 202, queued: 1},
		{name: "a plain comment is ignored", req: request{event: "issue_comment", body: comment("looks good", "User")}, status: 200},
		{name: "a command from another bot is ignored", req: request{event: "issue_comment", body: comment("/destroy", "Bot")}, status: 200},
		{name: "a push to the default branch is queued", req: request{event: "push", body: `{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"acme/shop","default_branch":"main"},"installation":{"id":42},"sender":{"login":"dev"}}`}, status: 202, queued: 1},
		{name: "a push to another branch is ignored", req: request{event: "push", body: `{"ref":"refs/heads/feature","repository":{"full_name":"acme/shop","default_branch":"main"},"installation":{"id":42},"sender":{"login":"dev"}}`}, status: 200},
		{name: "a created deployment is queued", req: request{event: "deployment", body: `{"action":"created","deployment":{"id":1,"environment":"prod"},"repository":{"full_name":"acme/shop"},"installation":{"id":42},"sender":{"login":"dev"}}`}, status: 202, queued: 1},
		{name: "GET is not allowed", req: request{event: "ping", body: "", method: http.MethodGet}, status: 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			q := &queue{seen: map[string]bool{}}
			srv := newServer(t, q, c.allow...)
			status, msg := send(t, srv, c.req)
			if status != c.status {
				t.Fatalf("status = %d (%s), want %d", status, strings.TrimSpace(msg), c.status)
			}
			if q.count() != c.queued {
				t.Fatalf("queued %d jobs, want %d", q.count(), c.queued)
			}
			if !strings.Contains(msg, c.wantInMsg) {
				t.Fatalf("answer %q does not mention %q", msg, c.wantInMsg)
			}
		})
	}

	t.Run("a redelivery is acknowledged and not queued twice", func(t *testing.T) {
		t.Parallel()
		q := &queue{seen: map[string]bool{}}
		srv := newServer(t, q)
		r := request{event: "pull_request", id: "same", body: pr("synchronize", "dev")}
		if s, _ := send(t, srv, r); s != 202 {
			t.Fatalf("first: %d", s)
		}
		if s, msg := send(t, srv, r); s != 200 || !strings.Contains(msg, "duplicate") {
			t.Fatalf("redelivery: %d %s", s, msg)
		}
		if q.count() != 1 {
			t.Fatalf("queued %d", q.count())
		}
	})

	t.Run("the job carries the delivery's identity", func(t *testing.T) {
		t.Parallel()
		q := &queue{seen: map[string]bool{}}
		srv := newServer(t, q)
		send(t, srv, request{event: "pull_request", id: "d-9", body: pr("opened", "dev")})
		want := event.Args{DeliveryID: "d-9", Event: "pull_request", Action: "opened", InstallationID: 42, Repo: "acme/shop", PR: 7}
		if q.count() != 1 || q.jobs[0] != want {
			t.Fatalf("jobs = %+v, want %+v", q.jobs, want)
		}
	})

	t.Run("a store failure is a 500 the operator can redeliver", func(t *testing.T) {
		t.Parallel()
		q := &queue{seen: map[string]bool{}, fail: errors.New("disk full")}
		srv := newServer(t, q)
		if s, _ := send(t, srv, request{event: "pull_request", body: pr("opened", "dev")}); s != 500 {
			t.Fatalf("status = %d", s)
		}
	})

	t.Run("a body over 25 MiB is refused and the server stays up", func(t *testing.T) {
		t.Parallel()
		q := &queue{seen: map[string]bool{}}
		srv := newServer(t, q)
		big := `{"a":"` + strings.Repeat("x", webhooks.MaxBodyBytes) + `"}`
		if s, _ := send(t, srv, request{event: "pull_request", body: big}); s != 413 {
			t.Fatalf("status = %d", s)
		}
		if s, _ := send(t, srv, request{event: "ping", body: `{}`}); s != 200 {
			t.Fatalf("after the big body: %d", s)
		}
	})

	t.Run("no secret is refused at construction", func(t *testing.T) {
		t.Parallel()
		if _, err := webhooks.New(webhooks.Options{}); err == nil || !strings.Contains(err.Error(), "STAGECOACH_WEBHOOK_SECRET") {
			t.Fatalf("err = %v", err)
		}
	})
}
