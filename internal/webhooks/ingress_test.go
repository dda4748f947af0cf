package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/metrics"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/webhooks"
)

// pattern is an endless body that costs no memory to send.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// ingress is a handler with metrics and a captured debug log, served over real HTTP.
type ingress struct {
	srv      *httptest.Server
	metrics  *metrics.Metrics
	registry *prometheus.Registry
	log      *syncBuffer
}

func newIngress(t testing.TB, q webhooks.Enqueuer, o webhooks.Options) *ingress {
	t.Helper()
	reg := prometheus.NewRegistry()
	in := &ingress{metrics: metrics.New(reg), registry: reg, log: &syncBuffer{}}
	o.Secret, o.Queue, o.Metrics = secret, q, in.metrics
	o.Logger = slog.New(slog.NewTextHandler(in.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := webhooks.New(o)
	if err != nil {
		t.Fatal(err)
	}
	in.srv = httptest.NewServer(h)
	t.Cleanup(in.srv.Close)
	return in
}

func (in *ingress) refused(reason string) float64 {
	families, err := in.registry.Gather()
	if err != nil {
		panic(err)
	}
	for _, f := range families {
		if f.GetName() != "stagecoach_webhook_refused_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// post sends body with headers; a nil header map means a signed pull_request.
func (in *ingress) post(t testing.TB, headers map[string]string, body io.Reader, length int64) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := in.srv.Client().Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	body := pr("opened", "dev")
	headers := func(event, sig, id string) map[string]string {
		return map[string]string{"X-GitHub-Event": event, "X-Hub-Signature-256": sig, "X-GitHub-Delivery": id}
	}
	cases := []struct {
		name    string
		headers map[string]string
		body    string
		length  int64 // -1: unknown (chunked)
		status  int
		reason  string
	}{
		{name: "an unknown event is refused", headers: headers("pull_requests", webhooks.Sign(secret, []byte(body)), "d"), body: body, status: 400, reason: "unknown_event"},
		{name: "a missing event is refused", headers: headers("", webhooks.Sign(secret, []byte(body)), "d"), body: body, status: 400, reason: "unknown_event"},
		{name: "a sha1 signature is refused", headers: headers("pull_request", "sha1=0123456789012345678901234567890123456789", "d"), body: body, status: 401, reason: "bad_signature"},
		{name: "a short signature is refused", headers: headers("pull_request", "sha256=abcd", "d"), body: body, status: 401, reason: "bad_signature"},
		{name: "a well-formed wrong signature is refused after reading", headers: headers("pull_request", webhooks.Sign("other", []byte(body)), "d"), body: body, status: 401, reason: "bad_signature"},
		{name: "a missing delivery id is refused", headers: headers("pull_request", webhooks.Sign(secret, []byte(body)), ""), body: body, status: 400, reason: "no_delivery_id"},
		{name: "an overlong delivery id is refused", headers: headers("pull_request", webhooks.Sign(secret, []byte(body)), strings.Repeat("d", 200)), body: body, status: 400, reason: "no_delivery_id"},
		{name: "a comment over its cap is refused by Content-Length", headers: headers("issue_comment", "sha256="+strings.Repeat("0", 64), "d"),
			body: strings.Repeat("x", int(webhooks.MaxEventBytes("issue_comment"))+1), status: 413, reason: "too_large"},
		{name: "a chunked comment over its cap is refused while reading", headers: headers("issue_comment", "sha256="+strings.Repeat("0", 64), "d"),
			body: strings.Repeat("x", int(webhooks.MaxEventBytes("issue_comment"))+1), length: -1, status: 413, reason: "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			q := &queue{seen: map[string]bool{}}
			in := newIngress(t, q, webhooks.Options{})
			length := int64(len(c.body))
			var r io.Reader = strings.NewReader(c.body)
			if c.length < 0 {
				length, r = -1, io.MultiReader(r) // hides the length: sent chunked
			}
			resp, err := in.post(t, c.headers, r, length)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, c.status)
			}
			if got := in.refused(c.reason); got != 1 {
				t.Fatalf("stagecoach_webhook_refused_total{reason=%q} = %v, want 1", c.reason, got)
			}
			if q.count() != 0 {
				t.Fatalf("a refused request was queued")
			}
			logs := in.log.String()
			if strings.Contains(logs, "level=WARN") || !strings.Contains(logs, `level=DEBUG msg="webhook refused" reason=`+c.reason) {
				t.Fatalf("a refused request is one debug line, got:\n%s", logs)
			}
		})
	}

	t.Run("an event the bot does not act on is acknowledged unread", func(t *testing.T) {
		t.Parallel()
		in := newIngress(t, &queue{seen: map[string]bool{}}, webhooks.Options{})
		// A body larger than any cap, with a signature that does not match: it is never read.
		resp, err := in.post(t, headers("installation", "sha256="+strings.Repeat("0", 64), "d"), io.LimitReader(pattern{}, 1<<20), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d", resp.StatusCode)
		}
	})
}

// blockingQueue holds every delivery in EnqueueDelivery until released, so the test knows
// how many requests hold a read slot.
type blockingQueue struct {
	entered chan struct{}
	release chan struct{}
}

func (q *blockingQueue) EnqueueDelivery(ctx context.Context, _ store.Delivery, _ river.JobArgs) (bool, error) {
	q.entered <- struct{}{}
	select {
	case <-q.release:
	case <-ctx.Done():
	}
	return true, nil
}

func TestBusy(t *testing.T) {
	t.Parallel()
	q := &blockingQueue{entered: make(chan struct{}), release: make(chan struct{})}
	in := newIngress(t, q, webhooks.Options{MaxConcurrent: 2, SlotWait: -1})
	send := func(id string) (*http.Response, error) {
		body := pr("opened", "dev")
		return in.post(t, map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": id,
			"X-Hub-Signature-256": webhooks.Sign(secret, []byte(body))}, strings.NewReader(body), int64(len(body)))
	}
	held := make(chan int, 2)
	for _, id := range []string{"a", "b"} {
		go func() {
			resp, err := send(id)
			if err != nil {
				held <- -1
				return
			}
			held <- resp.StatusCode
		}()
	}
	<-q.entered
	<-q.entered // both slots taken

	resp, err := send("c")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third delivery: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if got := in.refused("busy"); got != 1 {
		t.Fatalf("refused{busy} = %v", got)
	}
	close(q.release)
	for range 2 {
		if s := <-held; s != http.StatusAccepted {
			t.Fatalf("held delivery: status %d, want 202", s)
		}
	}
	// The slots are free again.
	go func() {
		for range q.entered {
		}
	}()
	resp, err = send("d")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after the burst: status %d", resp.StatusCode)
	}
	close(q.entered)
}

// TestUnsignedFloodKeepsHeapFlat sends 16 concurrent unsigned 24 MiB deliveries, the flood
// that used to cost ~470 MiB, and checks the process allocated no more than a few MiB for
// them. It measures the whole process (runtime.ReadMemStats), so it is deliberately not
// parallel: Go runs it before any parallel test of this package starts.
func TestUnsignedFloodKeepsHeapFlat(t *testing.T) {
	const (
		requests = 16
		size     = 24 << 20
		budget   = 32 << 20
	)
	in := newIngress(t, &queue{seen: map[string]bool{}}, webhooks.Options{})
	flood := func() {
		var wg sync.WaitGroup
		for i := range requests {
			wg.Go(func() {
				// The server answers 401 without reading and closes the connection; the client
				// may see the answer or a reset while it is still sending. Either is fine here:
				// the server-side counter below is what is checked.
				resp, err := in.post(t, map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": fmt.Sprint("flood-", i)},
					io.LimitReader(pattern{}, size), size)
				if err == nil && resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("status = %d, want 401", resp.StatusCode)
				}
			})
		}
		wg.Wait()
	}
	flood() // warm up connections and buffers
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	flood()
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d unsigned %d MiB requests: %.1f MiB allocated, heap in use %.1f → %.1f MiB", requests, size>>20,
		float64(allocated)/(1<<20), float64(before.HeapInuse)/(1<<20), float64(after.HeapInuse)/(1<<20))
	if allocated > budget {
		t.Fatalf("the flood allocated %d MiB, want under %d MiB: bodies are being read before the signature check", allocated>>20, budget>>20)
	}
	if got := in.refused("bad_signature"); got != 2*requests {
		t.Fatalf("refused{bad_signature} = %v, want %d", got, 2*requests)
	}
}

// TestKnownEvents keeps the list of GitHub's event names in step with the vendored schemas.
func TestKnownEvents(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../githubsim/testdata/webhook-schemas/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for k := range schema.Definitions {
		if name, ok := strings.CutSuffix(k, "_event"); ok {
			names[name] = true
		} else if name, _, ok := strings.Cut(k, "$"); ok {
			names[name] = true
		}
	}
	if len(names) < 50 {
		t.Fatalf("found only %d event names in the schema", len(names))
	}
	for name := range names {
		if !webhooks.IsGitHubEvent(name) {
			t.Errorf("event %q of the vendored schemas is refused as unknown; add it to githubEvents", name)
		}
	}
	for _, name := range []string{"pull_request", "issue_comment", "push", "deployment", "ping"} {
		if webhooks.MaxEventBytes(name) == 0 || webhooks.MaxEventBytes(name) > webhooks.MaxBodyBytes {
			t.Errorf("event %s has cap %d", name, webhooks.MaxEventBytes(name))
		}
	}
}
