// Package webhooks is the HTTP ingress for GitHub webhooks. A delivery is verified
// (HMAC-SHA256, constant time), decoded by the one handler for its event, dropped
// when the bot does not act on it, and otherwise stored and enqueued as a durable
// job in one transaction before GitHub gets its 202. No GitHub API call and no
// Pulumi work happen on the request path.
//
// Refusing is cheap: the method, the event name, the signature header's shape, the
// delivery id and Content-Length are checked before a byte of the body is read; events
// the bot does not act on are acknowledged unread; at most Options.MaxConcurrent bodies
// are read at once (503 with Retry-After beyond that), each within its event's size cap
// and a read deadline. Refused requests are counted in stagecoach_webhook_refused_total
// and logged at debug level only, so a flood does not become a flood of log lines.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/metrics"
	"github.com/stagecoach/stagecoach/internal/store"
)

// MaxBodyBytes is GitHub's cap on webhook payloads (25 MiB), the largest body any event may
// have; MaxEventBytes gives each event's own cap. Larger bodies get 413.
const MaxBodyBytes = 25 << 20

// Defaults for Options.
const (
	// DefaultSlotWait is how long a request waits for a free read slot before it gets 503.
	DefaultSlotWait = 2 * time.Second
	// DefaultBodyTimeout bounds reading one body; GitHub gives up on a delivery after 10 s.
	DefaultBodyTimeout = 10 * time.Second
	// retryAfter is the Retry-After, in seconds, of a 503 when every read slot is taken.
	retryAfter = 5
	// maxDeliveryID bounds X-GitHub-Delivery (GitHub sends a 36-character UUID).
	maxDeliveryID = 128
)

// DefaultMaxConcurrent is the default number of bodies read at once: 2×GOMAXPROCS+4.
func DefaultMaxConcurrent() int { return 2*runtime.GOMAXPROCS(0) + 4 }

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
	// Metrics counts deliveries by outcome and refused requests by reason; optional.
	Metrics *metrics.Metrics
	// Logger receives one line per delivery, and a debug line per refused request.
	Logger *slog.Logger
	// MaxConcurrent bounds how many requests read and handle their body at once; each holds
	// up to its event's cap in memory. Default (0) DefaultMaxConcurrent().
	MaxConcurrent int
	// SlotWait is how long a request waits for a read slot before it is answered 503.
	// Default (0) DefaultSlotWait; negative answers at once.
	SlotWait time.Duration
	// BodyTimeout bounds reading the body. Default (0) DefaultBodyTimeout.
	BodyTimeout time.Duration
}

// Handler serves POST /webhooks/github.
type Handler struct {
	opts     Options
	handlers map[string]eventHandler
	// slots holds one token per body being read and handled.
	slots chan struct{}
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
	if o.MaxConcurrent < 0 {
		return nil, fmt.Errorf("webhook handler: MaxConcurrent %d must not be negative", o.MaxConcurrent)
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = DefaultMaxConcurrent()
	}
	if o.SlotWait == 0 {
		o.SlotWait = DefaultSlotWait
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	for _, g := range o.Allowlist {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("webhook handler: allowlist entry %q: %w", g, err)
		}
	}
	return &Handler{opts: o, slots: make(chan struct{}, o.MaxConcurrent), handlers: eventHandlers()}, nil
}

// eventHandlers are the handlers of the events the bot acts on.
func eventHandlers() map[string]eventHandler {
	return map[string]eventHandler{
		"pull_request":  pullRequest,
		"issue_comment": issueComment,
		"push":          push,
		"deployment":    deployment,
	}
}

// Events lists the events the bot acts on (those with a handler), sorted: the GitHub App
// subscribes to exactly these. GitHub sends ping without a subscription.
func Events() []string { return slices.Sorted(maps.Keys(eventHandlers())) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get("X-GitHub-Event")
	id := r.Header.Get("X-GitHub-Delivery")

	// Refusals before the body: no memory spent, a debug line and a counter only.
	if no, refused := headerRefusal(r); refused {
		if no.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		h.refuse(w, r, no.status, no.reason, no.msg)
		return
	}
	sig := r.Header.Get(github.SHA256SignatureHeader)

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
		writeText(w, status, msg)
	}

	limit := MaxEventBytes(name)
	if limit == 0 {
		// An event the bot does not act on: acknowledged without reading (or verifying) its
		// body, since nothing is done with it.
		reply(http.StatusOK, "ignored", "event not acted on")
		return
	}
	if r.ContentLength > limit {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("a %s payload is at most %d bytes", name, limit))
		return
	}
	if !h.acquire(r.Context()) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		h.refuse(w, r, http.StatusServiceUnavailable, "busy", "too many deliveries at once; retry later")
		return
	}
	defer func() { <-h.slots }()

	body, err := h.readBody(w, r, limit)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("a %s payload is at most %d bytes", name, limit))
			return
		}
		h.refuse(w, r, http.StatusBadRequest, "unreadable", "could not read the body")
		return
	}
	if err := github.ValidateSignature(sig, body, []byte(h.opts.Secret)); err != nil {
		h.refuse(w, r, http.StatusUnauthorized, "bad_signature", "wrong X-Hub-Signature-256")
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
	d, err := h.handlers[name](body)
	if err != nil {
		reply(http.StatusBadRequest, "bad_request", fmt.Sprintf("not a valid %s payload: %v", name, err))
		return
	}
	log = log.With("action", d.action, "repo", d.repo, "installation_id", d.installation)
	if d.pr != 0 {
		log = log.With("pr", d.pr)
	}
	if outcome, msg, ignore := h.ignored(d); ignore {
		reply(http.StatusOK, outcome, msg)
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

// refusal is an answer to a request that is not handled as a delivery.
type refusal struct {
	status      int
	reason, msg string
}

// headerRefusal checks what can be checked before the body is read: the method, the event's name,
// the signature's form and the delivery id.
func headerRefusal(r *http.Request) (refusal, bool) {
	id := r.Header.Get("X-GitHub-Delivery")
	switch {
	case r.Method != http.MethodPost:
		return refusal{http.StatusMethodNotAllowed, "method", "webhooks are POSTed"}, true
	case !githubEvents[r.Header.Get("X-GitHub-Event")]:
		return refusal{http.StatusBadRequest, "unknown_event", "missing or unknown X-GitHub-Event"}, true
	case !wellFormedSignature(r.Header.Get(github.SHA256SignatureHeader)):
		return refusal{http.StatusUnauthorized, "bad_signature", "missing or malformed X-Hub-Signature-256"}, true
	case id == "" || len(id) > maxDeliveryID:
		return refusal{http.StatusBadRequest, "no_delivery_id", "missing or overlong X-GitHub-Delivery"}, true
	}
	return refusal{}, false
}

// ignored says whether a valid delivery is acknowledged without being queued, and why: the event
// asks nothing of the bot, the bot sent it itself, or the repository is not allowed.
func (h *Handler) ignored(d decision) (outcome, msg string, ignore bool) {
	switch {
	case !d.act:
		return "ignored", "ignored: " + d.reason, true
	case h.opts.BotLogin != "" && strings.EqualFold(d.sender, h.opts.BotLogin):
		return "own", "ignored: sent by this bot", true
	case !h.allowed(d.repo):
		return "not_allowed", "ignored: repository not in STAGECOACH_REPO_ALLOWLIST", true
	}
	return "", "", false
}

// refuse answers a request that is not handled as a delivery: counted by reason and logged
// at debug level, since anyone can send them.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason, msg string) {
	if h.opts.Metrics != nil {
		h.opts.Metrics.WebhookRefused.WithLabelValues(reason).Inc()
	}
	h.opts.Logger.LogAttrs(r.Context(), slog.LevelDebug, "webhook refused",
		slog.String("reason", reason), slog.Int("status", status), slog.String("remote_addr", r.RemoteAddr),
		slog.String("event", truncate(r.Header.Get("X-GitHub-Event"), 64)),
		slog.String("delivery_id", truncate(r.Header.Get("X-GitHub-Delivery"), maxDeliveryID)))
	writeText(w, status, msg)
}

// acquire takes a read slot, waiting at most SlotWait; false means none came free.
func (h *Handler) acquire(ctx context.Context) bool {
	select {
	case h.slots <- struct{}{}:
		return true
	default:
	}
	if h.opts.SlotWait < 0 {
		return false
	}
	t := time.NewTimer(h.opts.SlotWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// readBody reads at most limit bytes within BodyTimeout, into a buffer sized from
// Content-Length so that a large body is not copied while it grows.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	// Not every ResponseWriter supports deadlines (httptest.ResponseRecorder does not);
	// the server's ReadTimeout still applies then.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.opts.BodyTimeout))
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	return buf.Bytes(), err
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// wellFormedSignature reports whether header has the shape "sha256=<64 hex digits>".
func wellFormedSignature(header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(hexSig)
	return err == nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
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
