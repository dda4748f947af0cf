// Package webhooks is the HTTP ingress for GitHub webhooks. A delivery is verified
// (HMAC-SHA256, constant time), decoded by the one handler for its event, dropped
// when the bot does not act on it, and otherwise stored and enqueued as a durable
// job in one transaction before GitHub gets its 202. No GitHub API call and no
// Pulumi work happen on the request path.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/metrics"
	"github.com/stagecoach/stagecoach/internal/store"
)

// MaxBodyBytes is GitHub's cap on webhook payloads (25 MiB); larger bodies get 413.
const MaxBodyBytes = 25 << 20

// Enqueuer stores a delivery and enqueues its job atomically; false means seen before.
type Enqueuer interface {
	EnqueueDelivery(ctx context.Context, d store.Delivery, args river.JobArgs) (bool, error)
}

// Options configures the Handler.
type Options struct {
	// Secret verifies X-Hub-Signature-256. Required.
	Secret string
	// Allowlist holds owner/repo globs; empty allows every repository.
	Allowlist []string
	// BotLogin is the App's own user ("<slug>[bot]"); its events are ignored.
	BotLogin string
	// Queue receives the deliveries the bot acts on.
	Queue Enqueuer
	// Metrics counts deliveries by outcome; optional.
	Metrics *metrics.Metrics
	// Logger receives one line per delivery.
	Logger *slog.Logger
}

// Handler serves POST /webhooks/github.
type Handler struct {
	opts     Options
	handlers map[string]eventHandler
}

// decision is what an event handler made of a delivery.
type decision struct {
	// act is true when the delivery is to be queued; reason says why not otherwise.
	act    bool
	reason string
	action string
	repo   string
	pr     int
	sender string
	// installation is the App installation the event came through.
	installation int64
}

// eventHandler decodes one event type's payload; an error means the body is not that event.
type eventHandler func(body []byte) (decision, error)

// New returns the handler.
func New(o Options) (*Handler, error) {
	if o.Secret == "" {
		return nil, errors.New("webhook handler: no secret; set STAGECOACH_WEBHOOK_SECRET")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	for _, g := range o.Allowlist {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("webhook handler: allowlist entry %q: %w", g, err)
		}
	}
	return &Handler{opts: o, handlers: map[string]eventHandler{
		"pull_request":  pullRequest,
		"issue_comment": issueComment,
		"push":          push,
		"deployment":    deployment,
	}}, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	name := r.Header.Get("X-GitHub-Event")
	id := r.Header.Get("X-GitHub-Delivery")
	log := h.opts.Logger.With("delivery_id", id, "event", name)
	reply := func(status int, outcome, msg string, attrs ...any) {
		if h.opts.Metrics != nil {
			h.opts.Metrics.Deliveries.WithLabelValues(metricEvent(name), outcome).Inc()
		}
		level := slog.LevelInfo
		if status >= 400 {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "webhook "+outcome, append([]any{"status", status}, attrs...)...)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			reply(http.StatusRequestEntityTooLarge, "too_large", "payload over 25 MiB")
			return
		}
		reply(http.StatusBadRequest, "bad_request", "could not read the body")
		return
	}
	if !validSignature(h.opts.Secret, body, r.Header.Get("X-Hub-Signature-256")) {
		reply(http.StatusUnauthorized, "bad_signature", "missing or wrong X-Hub-Signature-256")
		return
	}
	if name == "" || id == "" {
		reply(http.StatusBadRequest, "bad_request", "missing X-GitHub-Event or X-GitHub-Delivery")
		return
	}
	if !json.Valid(body) {
		reply(http.StatusBadRequest, "bad_request", "body is not JSON")
		return
	}
	if name == "ping" {
		reply(http.StatusOK, "ping", "pong")
		return
	}
	handle, ok := h.handlers[name]
	if !ok {
		reply(http.StatusOK, "ignored", "event not acted on")
		return
	}
	d, err := handle(body)
	if err != nil {
		reply(http.StatusBadRequest, "bad_request", fmt.Sprintf("not a valid %s payload: %v", name, err))
		return
	}
	log = log.With("action", d.action, "repo", d.repo, "installation_id", d.installation)
	if d.pr != 0 {
		log = log.With("pr", d.pr)
	}
	switch {
	case !d.act:
		reply(http.StatusOK, "ignored", "ignored: "+d.reason)
		return
	case h.opts.BotLogin != "" && strings.EqualFold(d.sender, h.opts.BotLogin):
		reply(http.StatusOK, "own", "ignored: sent by this bot")
		return
	case !h.allowed(d.repo):
		reply(http.StatusOK, "not_allowed", "ignored: repository not in STAGECOACH_REPO_ALLOWLIST")
		return
	}
	fresh, err := h.opts.Queue.EnqueueDelivery(r.Context(), store.Delivery{
		ID: id, Event: name, Action: d.action, InstallationID: d.installation, Repo: d.repo, Payload: body,
	}, event.Args{DeliveryID: id, Event: name, Action: d.action, InstallationID: d.installation, Repo: d.repo, PR: d.pr})
	if err != nil {
		// GitHub does not retry failed deliveries on its own, but an operator can redeliver:
		// a 500 shows up red in the App's delivery log.
		reply(http.StatusInternalServerError, "error", "could not store the delivery; redeliver it from the App settings", "error", err)
		return
	}
	if !fresh {
		reply(http.StatusOK, "duplicate", "duplicate delivery, already queued")
		return
	}
	reply(http.StatusAccepted, "queued", "queued")
}

func (h *Handler) allowed(repo string) bool {
	if len(h.opts.Allowlist) == 0 {
		return true
	}
	repo = strings.ToLower(repo)
	for _, g := range h.opts.Allowlist {
		if ok, _ := path.Match(strings.ToLower(g), repo); ok {
			return true
		}
	}
	return false
}

// validSignature checks "sha256=<hex>" against the body in constant time.
func validSignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value for body, as GitHub computes it.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// metricEvent bounds the label's values: unknown event names become "other".
func metricEvent(name string) string {
	switch name {
	case "ping", "pull_request", "issue_comment", "push", "deployment", "installation",
		"installation_repositories", "check_run", "check_suite", "deployment_status":
		return name
	}
	return "other"
}
