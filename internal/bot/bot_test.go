package bot_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/configcheck"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
	"github.com/stagecoach/stagecoach/internal/toolchain"
	"github.com/stagecoach/stagecoach/internal/webhooks"
)

const repo = bottest.Repo

// brokenConfig has two problems: an unknown key and a bad duration.
const brokenConfig = `version: 1
environments:
  - name: dev
    soak: 3x
  - name: staging
    colour: blue
`

// newWorld is the world of the webhook tests: the repository's .stagecoach.yaml is broken, so
// every opened PR gets a failing config check run.
func newWorld(t testing.TB, opts ...bottest.Option) *bottest.World {
	t.Helper()
	return bottest.New(t, append([]bottest.Option{bottest.Files(map[string]string{".stagecoach.yaml": brokenConfig, "README.md": "shop"})}, opts...)...)
}

// waitChecks waits until every PR has its config check run.
func waitChecks(t *testing.T, w *bottest.World, prs []githubsim.PR) {
	t.Helper()
	w.Wait("check runs", func() bool {
		for _, pr := range prs {
			if len(w.Sim.CheckRuns(repo, pr.HeadSHA)) == 0 {
				return false
			}
		}
		return true
	})
}

// waitPosts waits until the bot's check-run creations reach n (the simulator logs a request
// after answering it, so its state can be ahead of its request log).
func waitPosts(t *testing.T, w *bottest.World, n int) {
	t.Helper()
	w.Wait(fmt.Sprintf("%d check runs", n), func() bool { return w.CheckRunPosts() >= n })
}

func TestBot(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("a signed webhook becomes a stored job that calls GitHub", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, bottest.Database(e.NewOptions(t)))
				w.StartBot(bottest.BotOptions{Replica: "one"})
				pr := w.OpenPR(githubsim.PROptions{})
				waitChecks(t, w, []githubsim.PR{pr})
				runs := w.Sim.CheckRuns(repo, pr.HeadSHA)
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
				if d := w.Sim.Deliveries(); len(d) == 0 || d[len(d)-1].Status != http.StatusAccepted {
					t.Fatalf("deliveries = %+v, want the last one accepted with 202", d)
				}
			})

			t.Run("a restarted bot loses no queued job and runs none twice", func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, bottest.Database(e.NewOptions(t)))
				// The first process only takes webhooks; it stops before working any job.
				first := w.NewBot(bottest.BotOptions{Replica: "first"})
				srv := &http.Server{Handler: first.Handler()}
				ln := listen(t)
				go srv.Serve(ln)
				w.Sim.SetWebhookURL("http://" + ln.Addr().String() + "/webhooks/github")
				var prs []githubsim.PR
				for range 3 {
					prs = append(prs, w.OpenPR(githubsim.PROptions{}))
				}
				srv.Close()
				if err := first.Stop(); err != nil {
					t.Fatal(err)
				}
				if n := w.CheckRunPosts(); n != 0 {
					t.Fatalf("%d check runs before the restart", n)
				}

				w.StartBot(bottest.BotOptions{Replica: "second"})
				waitChecks(t, w, prs)
				// A redelivery after the restart is recognised.
				last := w.Sim.Deliveries()[len(w.Sim.Deliveries())-1]
				if status, err := w.Sim.Redeliver(last.ID); err != nil || status != http.StatusOK {
					t.Fatalf("redelivery: %d, %v; want 200", status, err)
				}
				waitPosts(t, w, 3)
				if n := w.CheckRunPosts(); n != 3 {
					t.Fatalf("%d check runs created, want exactly 3", n)
				}
			})
		})
	}

	t.Run("two replicas on one Postgres run each job once", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, bottest.Database(storetest.Postgres(t)))
		a := w.StartBot(bottest.BotOptions{Replica: "a", DataDir: t.TempDir()})
		bb := w.StartBot(bottest.BotOptions{Replica: "b", DataDir: t.TempDir()})
		var prs []githubsim.PR
		for i := range 6 {
			target := a
			if i%2 == 1 {
				target = bb
			}
			w.Sim.SetWebhookURL("http://" + target.Addr() + "/webhooks/github")
			prs = append(prs, w.OpenPR(githubsim.PROptions{}))
		}
		// Every delivery redelivered to the other replica is recognised as a duplicate.
		w.Sim.SetWebhookURL("http://" + a.Addr() + "/webhooks/github")
		for _, d := range w.Sim.Deliveries() {
			if d.Redelivery {
				continue
			}
			if status, err := w.Sim.Redeliver(d.ID); err != nil || status != http.StatusOK {
				t.Fatalf("redelivery of %s: %d, %v", d.ID, status, err)
			}
		}
		waitChecks(t, w, prs)
		waitPosts(t, w, 6)
		if n := w.CheckRunPosts(); n != 6 {
			t.Fatalf("%d check runs created, want exactly 6", n)
		}
	})
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := w.StartBot(bottest.BotOptions{Replica: "one"})
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
	return webhooks.Sign(bottest.Secret, []byte(body))
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
	b := newWorld(t).NewBot(bottest.BotOptions{Replica: "docs"})
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
