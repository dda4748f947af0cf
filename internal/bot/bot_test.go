package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/configcheck"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
	"github.com/stagecoach/stagecoach/internal/toolchain"
	"github.com/stagecoach/stagecoach/internal/webhooks"
)

const (
	secret = "webhook-secret"
	repo   = "acme/shop"
)

// brokenConfig has two problems: an unknown key and a bad duration.
const brokenConfig = `version: 1
environments:
  - name: dev
    soak: 3x
  - name: staging
    colour: blue
`

// world is a simulated GitHub with one installation and one repository.
type world struct {
	sim *githubsim.Sim
}

func newWorld(t testing.TB) *world {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: secret, AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddInstallation("acme")
	if _, err := sim.CreateRepo("acme", "shop", map[string]string{".stagecoach.yaml": brokenConfig, "README.md": "shop"}); err != nil {
		t.Fatal(err)
	}
	return &world{sim: sim}
}

// newBot builds a bot against the simulator; database is "" for SQLite in dataDir.
func (w *world) newBot(t testing.TB, dataDir, databaseURL, schema, replica string) *bot.Bot {
	t.Helper()
	env := map[string]string{
		"STAGECOACH_ADDR":                  "127.0.0.1:0",
		"STAGECOACH_DATA_DIR":              dataDir,
		"STAGECOACH_DATABASE_URL":          databaseURL,
		"STAGECOACH_WEBHOOK_SECRET":        secret,
		"STAGECOACH_GITHUB_APP_ID":         strconv.FormatInt(w.sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY":    string(w.sim.AppPrivateKeyPEM()),
		"STAGECOACH_GITHUB_API_URL":        w.sim.URL(),
		"STAGECOACH_SHUTDOWN_TIMEOUT":      "10s",
		"STAGECOACH_GITHUB_MAX_RETRIES":    "3",
		"STAGECOACH_GITHUB_MAX_RETRY_WAIT": "2s",
		"PULUMI_CONFIG_PASSPHRASE":         "test",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ValidateServe(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := bot.New(context.Background(), bot.Options{Config: cfg, Logger: logger.With("replica", replica), ReplicaID: replica, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *world) start(t *testing.T, b *bot.Bot) {
	t.Helper()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	w.sim.SetWebhookURL("http://" + b.Addr() + "/webhooks/github")
}

func (w *world) openPR(t *testing.T, n int) githubsim.PR {
	t.Helper()
	pr, err := w.sim.OpenPR(repo, githubsim.PROptions{Author: "dev", Title: fmt.Sprintf("change %d", n),
		Branch: fmt.Sprintf("feature-%d", n), Files: map[string]string{fmt.Sprintf("f%d.txt", n): "x"}})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

// waitChecks waits until every PR has its config check run.
func (w *world) waitChecks(t *testing.T, prs []githubsim.PR) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := w.sim.WaitFor(ctx, func() bool {
		for _, pr := range prs {
			if len(w.sim.CheckRuns(repo, pr.HeadSHA)) == 0 {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("waiting for check runs: %v", err)
	}
}

// waitPosts waits until the bot's check-run creations reach n (the simulator logs a request
// after answering it, so its state can be ahead of its request log).
func (w *world) waitPosts(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.sim.WaitFor(ctx, func() bool { return w.checkRunPosts() >= n }); err != nil {
		t.Fatalf("waiting for %d check runs (have %d): %v", n, w.checkRunPosts(), err)
	}
}

// checkRunPosts counts the check runs the bot created.
func (w *world) checkRunPosts() int {
	n := 0
	for _, r := range w.sim.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/check-runs") && r.Status == http.StatusCreated {
			n++
		}
	}
	return n
}

func TestBot(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			dbURL := func(t *testing.T) (string, string) {
				o := e.NewOptions(t)
				return o.DatabaseURL, o.Schema
			}

			t.Run("a signed webhook becomes a stored job that calls GitHub", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				url, schema := dbURL(t)
				b := w.newBot(t, t.TempDir(), url, schema, "one")
				w.start(t, b)
				pr := w.openPR(t, 1)
				w.waitChecks(t, []githubsim.PR{pr})
				runs := w.sim.CheckRuns(repo, pr.HeadSHA)
				if len(runs) != 1 {
					t.Fatalf("%d check runs, want 1", len(runs))
				}
				r := runs[0]
				if r.Name != configcheck.CheckName || r.Conclusion != "failure" {
					t.Fatalf("check run = %+v", r)
				}
				for _, want := range []string{".stagecoach.yaml:4", "environments[0].soak", ".stagecoach.yaml:6", "environments[1].colour", "2 problems"} {
					if !strings.Contains(r.Summary+r.Title, want) {
						t.Errorf("check run does not mention %q:\n%s\n%s", want, r.Title, r.Summary)
					}
				}
				if d := w.sim.Deliveries(); len(d) == 0 || d[len(d)-1].Status != http.StatusAccepted {
					t.Fatalf("deliveries = %+v, want the last one accepted with 202", d)
				}
			})

			t.Run("a restarted bot loses no queued job and runs none twice", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				url, schema := dbURL(t)
				dataDir := t.TempDir()
				// The first process only takes webhooks; it stops before working any job.
				first := w.newBot(t, dataDir, url, schema, "first")
				srv := &http.Server{Handler: first.Handler()}
				ln := listen(t)
				go srv.Serve(ln)
				w.sim.SetWebhookURL("http://" + ln.Addr().String() + "/webhooks/github")
				var prs []githubsim.PR
				for i := range 3 {
					prs = append(prs, w.openPR(t, i))
				}
				srv.Close()
				if err := first.Stop(); err != nil {
					t.Fatal(err)
				}
				if n := w.checkRunPosts(); n != 0 {
					t.Fatalf("%d check runs before the restart", n)
				}

				second := w.newBot(t, dataDir, url, schema, "second")
				w.start(t, second)
				w.waitChecks(t, prs)
				// A redelivery after the restart is recognised.
				last := w.sim.Deliveries()[len(w.sim.Deliveries())-1]
				if status, err := w.sim.Redeliver(last.ID); err != nil || status != http.StatusOK {
					t.Fatalf("redelivery: %d, %v; want 200", status, err)
				}
				w.waitPosts(t, 3)
				if n := w.checkRunPosts(); n != 3 {
					t.Fatalf("%d check runs created, want exactly 3", n)
				}
			})
		})
	}

	t.Run("two replicas on one Postgres run each job once", func(t *testing.T) {
		t.Parallel()
		o := storetest.Postgres(t)
		w := newWorld(t)
		a := w.newBot(t, t.TempDir(), o.DatabaseURL, o.Schema, "a")
		bb := w.newBot(t, t.TempDir(), o.DatabaseURL, o.Schema, "b")
		w.start(t, a)
		w.start(t, bb)
		var prs []githubsim.PR
		for i := range 6 {
			target := a
			if i%2 == 1 {
				target = bb
			}
			w.sim.SetWebhookURL("http://" + target.Addr() + "/webhooks/github")
			prs = append(prs, w.openPR(t, i))
		}
		// Every delivery redelivered to the other replica is recognised as a duplicate.
		w.sim.SetWebhookURL("http://" + a.Addr() + "/webhooks/github")
		for _, d := range w.sim.Deliveries() {
			if d.Redelivery {
				continue
			}
			if status, err := w.sim.Redeliver(d.ID); err != nil || status != http.StatusOK {
				t.Fatalf("redelivery of %s: %d, %v", d.ID, status, err)
			}
		}
		w.waitChecks(t, prs)
		w.waitPosts(t, 6)
		if n := w.checkRunPosts(); n != 6 {
			t.Fatalf("%d check runs created, want exactly 6", n)
		}
	})
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.newBot(t, t.TempDir(), "", "", "one")
	w.start(t, b)
	base := "http://" + b.Addr()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	post := func(body string, sig string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/github", strings.NewReader(body))
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", "x-1")
		req.Header.Set("X-Hub-Signature-256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("malformed deliveries get their status and the server stays up", func(t *testing.T) {
		if s := post("{}", "sha256=00"); s != http.StatusUnauthorized {
			t.Fatalf("bad signature: %d", s)
		}
		if s := post("][", sign("][")); s != http.StatusBadRequest {
			t.Fatalf("not JSON: %d", s)
		}
		if s, _ := get("/healthz"); s != http.StatusOK {
			t.Fatalf("healthz after bad input: %d", s)
		}
	})
	t.Run("readyz reports the database, workers, App and engine", func(t *testing.T) {
		// The App is the simulator's; the engine is there only when the Pulumi CLI is.
		want, wantIn := http.StatusOK, "ready"
		if _, err := toolchain.Find(t.Context(), toolchain.Options{}); err != nil {
			want, wantIn = http.StatusServiceUnavailable, "Pulumi engine"
		}
		if s, body := get("/readyz"); s != want || !strings.Contains(body, wantIn) {
			t.Fatalf("readyz: %d %s, want %d mentioning %q", s, body, want, wantIn)
		}
	})
	t.Run("metrics are exported with the stagecoach prefix", func(t *testing.T) {
		_, body := get("/metrics")
		for _, want := range []string{`stagecoach_webhook_refused_total{reason="bad_signature"} 1`,
			`stagecoach_queue_jobs{state="available"}`} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("operation logs are served by id", func(t *testing.T) {
		id, err := b.Store().SaveLog(context.Background(), store.OperationLog{Stack: "pr-1", Kind: "up", Text: "Updating (pr-1)", Succeeded: true})
		if err != nil {
			t.Fatal(err)
		}
		if s, body := get("/logs/" + id); s != http.StatusOK || !strings.Contains(body, "Updating (pr-1)") || !strings.Contains(body, "up of pr-1") {
			t.Fatalf("log: %d %q", s, body)
		}
		if s, _ := get("/logs/nope"); s != http.StatusNotFound {
			t.Fatalf("missing log: %d", s)
		}
	})
	t.Run("the status page shows the queue", func(t *testing.T) {
		s, body := get("/")
		if s != http.StatusOK || !strings.Contains(body, "Queue") {
			t.Fatalf("status page: %d", s)
		}
	})
}

func sign(body string) string {
	return webhooks.Sign(secret, []byte(body))
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// DEVELOPERS.md's event table names, for each event, the processors that act on it in order; it
// must say what bot.New wires, or a newcomer learns the wrong routing.
func TestDevelopersEventTableMatchesTheWiring(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.newBot(t, t.TempDir(), "", "", "docs")
	doc, err := os.ReadFile("../../DEVELOPERS.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	start := strings.Index(section, "## Events: who acts on each")
	if start < 0 {
		t.Fatal(`DEVELOPERS.md has no "## Events: who acts on each" section`)
	}
	section = section[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	table := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		ev := strings.Trim(strings.TrimSpace(cells[1]), "`")
		for _, p := range strings.Split(cells[2], ",") {
			table[ev] = append(table[ev], strings.TrimSpace(p))
		}
	}
	if got := b.EventSteps(); !reflect.DeepEqual(table, got) {
		t.Fatalf("DEVELOPERS.md's event table says\n  %v\nbut the bot wires\n  %v", table, got)
	}
}
