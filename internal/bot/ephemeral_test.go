package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/ephemeral/demo"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// peClock is the bot's settable clock in the PR environment tests.
type peClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *peClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *peClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// peWorld is a simulated GitHub with the sample repository opted into PR environments, and a bot
// with the real Pulumi engine and a settable clock.
type peWorld struct {
	t       *testing.T
	sim     *githubsim.Sim
	clock   *peClock
	bot     *bot.Bot
	dataDir string
	// passphrase is the bot's PULUMI_CONFIG_PASSPHRASE. Default "test".
	passphrase string
}

// newPEWorld starts the world; extra is appended to the sample .stagecoach.yaml's ephemeral section.
func newPEWorld(t *testing.T, extra string) *peWorld {
	t.Helper()
	if _, err := toolchain.Find(context.Background(), toolchain.Options{}); err != nil {
		testenv.SkipOrFail(t, "the Pulumi CLI is not installed (%v); run `bot toolchain install`", err)
	}
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: secret, AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddInstallation("acme")
	files := demo.Files()
	files[".stagecoach.yaml"] = demo.Config + extra
	if _, err := sim.CreateRepo("acme", "shop", files); err != nil {
		t.Fatal(err)
	}
	for login, role := range map[string]string{"dev": "write", "rita": "read"} {
		sim.SetCollaborator(repo, login, role)
	}
	w := &peWorld{t: t, sim: sim, clock: &peClock{t: time.Now()}, dataDir: t.TempDir(), passphrase: "test"}
	w.start()
	return w
}

func (w *peWorld) start() {
	w.t.Helper()
	env := map[string]string{
		"STAGECOACH_ADDR":                  "127.0.0.1:0",
		"STAGECOACH_DATA_DIR":              w.dataDir,
		"STAGECOACH_WEBHOOK_SECRET":        secret,
		"STAGECOACH_GITHUB_APP_ID":         strconv.FormatInt(w.sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY":    string(w.sim.AppPrivateKeyPEM()),
		"STAGECOACH_GITHUB_API_URL":        w.sim.URL(),
		"STAGECOACH_SHUTDOWN_TIMEOUT":      "20s",
		"STAGECOACH_GITHUB_MAX_RETRIES":    "3",
		"STAGECOACH_GITHUB_MAX_RETRY_WAIT": "2s",
		"PULUMI_CONFIG_PASSPHRASE":         w.passphrase,
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		w.t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := bot.New(context.Background(), bot.Options{Config: cfg, Logger: logger, Now: w.clock.Now, ReplicaID: "one"})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { b.Stop() })
	w.sim.SetWebhookURL("http://" + b.Addr() + "/webhooks/github")
	w.bot = b
}

// restart stops the bot and starts another on the same data (its sweep runs on start).
func (w *peWorld) restart() {
	w.t.Helper()
	if err := w.bot.Stop(); err != nil {
		w.t.Fatal(err)
	}
	w.start()
}

func (w *peWorld) wait(what string, cond func() bool) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := w.sim.WaitFor(ctx, cond); err != nil {
		w.t.Fatalf("waiting for %s: %v\nPR comment:\n%s", what, err, w.statusComments(1))
	}
}

// statusComments returns the bodies of the bot's PR environment comments on pr.
func (w *peWorld) statusComments(pr int) []string {
	var out []string
	for _, c := range w.sim.Comments(repo, pr) {
		if strings.Contains(c.Body, ephemeral.Marker) {
			out = append(out, c.Body)
		}
	}
	return out
}

// statusIs reports whether pr's one comment shows status and every want.
func (w *peWorld) statusIs(pr int, status string, wants ...string) bool {
	cs := w.statusComments(pr)
	if len(cs) != 1 || !strings.Contains(cs[0], "**"+status+"**") {
		return false
	}
	for _, want := range wants {
		if !strings.Contains(cs[0], want) {
			return false
		}
	}
	return true
}

// replied reports whether a non-status bot comment on pr contains text.
func (w *peWorld) replied(pr int, text string) bool {
	for _, c := range w.sim.Comments(repo, pr) {
		if c.Author == w.sim.BotLogin() && !strings.Contains(c.Body, ephemeral.Marker) && strings.Contains(c.Body, text) {
			return true
		}
	}
	return false
}

func (w *peWorld) env(pr int) store.PREnvironment {
	w.t.Helper()
	e, err := w.bot.Store().PREnvironment(context.Background(), repo, pr)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// deploymentStates lists the states of every deployment of environment env, oldest first.
func (w *peWorld) deploymentStates(env string) []string {
	var out []string
	for _, d := range w.sim.Deployments(repo) {
		if d.Environment != env {
			continue
		}
		if !d.TransientEnvironment || d.AutoMerge || d.RequiredContexts == nil || len(d.RequiredContexts) != 0 {
			out = append(out, "bad-request")
		}
		for _, s := range w.sim.DeploymentStatuses(repo, d.ID) {
			st := s.State
			if s.State == "success" && s.EnvironmentURL != "" {
				st += "(" + s.EnvironmentURL + ")"
			}
			out = append(out, st)
		}
	}
	return out
}

func (w *peWorld) comment(pr int, author, body string) {
	w.t.Helper()
	if _, err := w.sim.Comment(repo, pr, author, body); err != nil {
		w.t.Fatal(err)
	}
}

func (w *peWorld) open(n int, o githubsim.PROptions) githubsim.PR {
	w.t.Helper()
	if o.Author == "" {
		o.Author = "dev"
	}
	o.Branch = fmt.Sprintf("feature-%d", n)
	if o.Files == nil {
		o.Files = map[string]string{fmt.Sprintf("app/f%d.txt", n): "x"}
	}
	pr, err := w.sim.OpenPR(repo, o)
	if err != nil {
		w.t.Fatal(err)
	}
	return pr
}

func (w *peWorld) push(pr int, files map[string]string) string {
	w.t.Helper()
	sha, err := w.sim.PushToPR(repo, pr, files)
	if err != nil {
		w.t.Fatal(err)
	}
	return sha
}

func TestPREnvironment(t *testing.T) {
	t.Parallel()

	t.Run("a PR is deployed, updated on push, commanded and destroyed on close with one comment", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.open(1, githubsim.PROptions{})
		w.wait("the PR environment", func() bool {
			return w.statusIs(pr.Number, "ready", "https://pr-1.storefront.example.com", "Expires", "/extend")
		})
		e := w.env(pr.Number)
		if e.Stack != "pr-1" || e.Slot != 0 || e.DeployedSHA != pr.HeadSHA || e.FirstDeployedAt.IsZero() {
			t.Fatalf("environment = %+v", e)
		}
		cfg, _ := w.bot.Store().StackConfig(context.Background(), repo, "pr-1")
		if cfg["stagecoach:pr"] != "1" || cfg["stagecoach:slot"] != "0" {
			t.Fatalf("bot-set stack config = %v", cfg)
		}
		runs := w.sim.CheckRuns(repo, pr.HeadSHA)
		found := false
		for _, r := range runs {
			if r.Name == ephemeral.CheckName {
				found = r.Conclusion == "success"
			}
		}
		if !found {
			t.Fatalf("no successful %s check run: %+v", ephemeral.CheckName, runs)
		}

		sha := w.push(pr.Number, map[string]string{"infra/Pulumi.pr.yaml": "config:\n  storefront:greeting: hello again\n"})
		w.wait("the push deployed", func() bool { return w.statusIs(pr.Number, "ready", sha[:7]) })

		w.comment(pr.Number, "rita", "/destroy")
		w.wait("the refusal", func() bool { return w.replied(pr.Number, "needs write access") })
		w.comment(pr.Number, "dev", "/extend 24h")
		w.comment(pr.Number, "dev", "/extend soon")
		w.wait("the usage answer", func() bool { return w.replied(pr.Number, "is not a duration") })
		w.wait("the extension", func() bool {
			return w.env(pr.Number).ExpiresAt.Sub(w.clock.Now()) > 72*time.Hour+23*time.Hour
		})
		w.comment(pr.Number, "dev", "/preview")
		w.wait("the preview", func() bool { return w.statusIs(pr.Number, "ready", "/preview of "+sha[:7]) })

		if err := w.sim.ClosePR(repo, pr.Number, true); err != nil {
			t.Fatal(err)
		}
		w.wait("the teardown", func() bool { return w.statusIs(pr.Number, "destroyed") })
		states := strings.Join(w.deploymentStates("pr-1"), " ")
		for _, want := range []string{"in_progress success(https://pr-1.storefront.example.com)", "inactive"} {
			if !strings.Contains(states, want) || strings.Contains(states, "bad-request") {
				t.Fatalf("deployment states = %s, want %s", states, want)
			}
		}
		if e := w.env(pr.Number); e.Slot != -1 || e.Status != store.PRDestroyed {
			t.Fatalf("after teardown: %+v", e)
		}
		if cfg, _ := w.bot.Store().StackConfig(context.Background(), repo, "pr-1"); len(cfg) != 0 {
			t.Fatalf("bot config left behind: %v", cfg)
		}
		if n := len(w.statusComments(pr.Number)); n != 1 {
			t.Fatalf("%d status comments, want 1", n)
		}
	})
}

func (w *peWorld) deployments(env string) []githubsim.Deployment {
	var out []githubsim.Deployment
	for _, d := range w.sim.Deployments(repo) {
		if d.Environment == env {
			out = append(out, d)
		}
	}
	return out
}

func TestPREnvironmentRules(t *testing.T) {
	t.Parallel()

	t.Run("a fork deploys only the commit a writer approves", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.open(1, githubsim.PROptions{Author: "eve", FromFork: true})
		w.wait("the fork notice", func() bool {
			return w.statusIs(pr.Number, "not deployed", "comes from a fork", "Commit "+pr.HeadSHA[:7]+" is waiting for approval")
		})
		w.comment(pr.Number, "rita", "/deploy")
		w.wait("the refusal", func() bool { return w.replied(pr.Number, "needs write access") })
		// The writer names the commit reviewed: a plain /deploy in the same second as the push that
		// opened the PR would not count it as seen.
		w.comment(pr.Number, "dev", "/deploy "+pr.HeadSHA[:7])
		w.wait("the approved deploy", func() bool { return w.statusIs(pr.Number, "ready", pr.HeadSHA[:7]) })
		sha := w.push(pr.Number, map[string]string{"app/evil.txt": "x"})
		w.wait("the new commit waiting", func() bool {
			return w.statusIs(pr.Number, "ready", "Commit "+sha[:7]+" is waiting for approval")
		})
		if e := w.env(pr.Number); e.DeployedSHA != pr.HeadSHA || e.DesiredSHA != pr.HeadSHA {
			t.Fatalf("an unapproved fork commit was wanted or deployed: %+v", e)
		}
		w.comment(pr.Number, "dev", "/deploy "+sha[:7])
		w.wait("the second approval", func() bool { return w.statusIs(pr.Number, "ready", "Commit "+sha[:7]+" is deployed") })
		if !w.replied(pr.Number, "approved commit "+sha[:7]) {
			t.Fatal("no approval answer")
		}
	})

	t.Run("with trigger label, adding the label later deploys; reopening redeploys", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "  trigger: label\n")
		pr := w.open(1, githubsim.PROptions{})
		w.wait("the label hint", func() bool { return w.statusIs(pr.Number, "not deployed", "stagecoach:deploy") })
		if err := w.sim.AddLabel(repo, pr.Number, "stagecoach:deploy"); err != nil {
			t.Fatal(err)
		}
		w.wait("the deploy", func() bool { return w.statusIs(pr.Number, "ready") })
		if err := w.sim.ClosePR(repo, pr.Number, false); err != nil {
			t.Fatal(err)
		}
		w.wait("destroyed", func() bool { return w.statusIs(pr.Number, "destroyed") })
		if err := w.sim.ReopenPR(repo, pr.Number); err != nil {
			t.Fatal(err)
		}
		w.wait("redeployed", func() bool { return w.statusIs(pr.Number, "ready") })
	})

	t.Run("a draft waits for ready for review", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.open(1, githubsim.PROptions{Draft: true})
		w.wait("the draft notice", func() bool { return w.statusIs(pr.Number, "not deployed", "ready for review") })
		if err := w.sim.MarkReady(repo, pr.Number); err != nil {
			t.Fatal(err)
		}
		w.wait("the deploy", func() bool { return w.statusIs(pr.Number, "ready", pr.HeadSHA[:7]) })
	})

	t.Run("a burst of pushes deploys the newest commit with at most two updates", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.open(1, githubsim.PROptions{})
		w.wait("the first deploy to start", func() bool { return len(w.deployments("pr-1")) == 1 })
		var last string
		for i := range 20 {
			last = w.push(pr.Number, map[string]string{"app/burst.txt": strconv.Itoa(i)})
		}
		w.wait("the newest commit", func() bool { return w.statusIs(pr.Number, "ready", "Commit "+last[:7]+" is deployed") })
		deps := w.deployments("pr-1")
		if len(deps) > 3 {
			t.Fatalf("%d deploys for 1 open and a burst of 20 pushes, want at most 1+2", len(deps))
		}
		if deps[len(deps)-1].SHA != last {
			t.Fatalf("the last deploy is of %s, want the newest %s", deps[len(deps)-1].SHA, last)
		}
		t.Logf("%d updates after the burst", len(deps)-1)
	})

	t.Run("the limit queues PRs in order and a teardown starts the next", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "  max_active: 1\n")
		one := w.open(1, githubsim.PROptions{})
		w.wait("PR 1 ready", func() bool { return w.statusIs(one.Number, "ready") })
		two := w.open(2, githubsim.PROptions{})
		three := w.open(3, githubsim.PROptions{})
		w.wait("PR 2 and 3 queued", func() bool {
			return w.statusIs(two.Number, "queued", "allows 1 at once", "number 1 in line") &&
				w.statusIs(three.Number, "queued", "number 2 in line")
		})
		if err := w.sim.ClosePR(repo, one.Number, false); err != nil {
			t.Fatal(err)
		}
		w.wait("PR 2 ready", func() bool { return w.statusIs(two.Number, "ready") && w.statusIs(one.Number, "destroyed") })
		if e := w.env(two.Number); e.Slot != 0 {
			t.Fatalf("PR 2 did not reuse slot 0: %+v", e)
		}
		if e := w.env(three.Number); e.Slot != -1 || e.Status != store.PRQueued {
			t.Fatalf("PR 3 should still wait: %+v", e)
		}
	})

	t.Run("an idle environment is warned, then expires; the keep label exempts", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "  ttl: 2h\n  ttl_warning: 30m\n")
		pr := w.open(1, githubsim.PROptions{})
		kept := w.open(2, githubsim.PROptions{Labels: []string{"stagecoach:keep"}})
		w.wait("both ready", func() bool { return w.statusIs(pr.Number, "ready") && w.statusIs(kept.Number, "ready", "exempts") })
		w.clock.Advance(100 * time.Minute)
		w.restart() // the sweep runs on start
		w.wait("the warning", func() bool {
			return w.replied(pr.Number, "expires in 20m") && w.statusIs(pr.Number, "ready", "expires soon")
		})
		w.clock.Advance(21 * time.Minute)
		w.restart()
		w.wait("the expiry", func() bool { return w.statusIs(pr.Number, "destroyed") })
		if e := w.env(kept.Number); e.Status != store.PRReady {
			t.Fatalf("the kept environment: %+v", e)
		}
	})

	t.Run("the sweeper destroys a closed PR's stack after a missed webhook", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.open(1, githubsim.PROptions{})
		w.wait("ready", func() bool { return w.statusIs(pr.Number, "ready") })
		if err := w.bot.Stop(); err != nil {
			t.Fatal(err)
		}
		w.sim.SetWebhookURL("http://127.0.0.1:1/nowhere")
		if err := w.sim.ClosePR(repo, pr.Number, false); err != nil {
			t.Fatal(err)
		}
		w.start()
		w.wait("the sweep's teardown", func() bool { return w.statusIs(pr.Number, "destroyed") })
	})

	t.Run("destroy and deploy commands, with and without permission", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.open(1, githubsim.PROptions{})
		w.wait("ready", func() bool { return w.statusIs(pr.Number, "ready") })
		for _, c := range []string{"/deploy", "/preview", "/extend 1h"} {
			w.comment(pr.Number, "rita", c)
			w.wait("refusal of "+c, func() bool { return w.replied(pr.Number, "`"+c+"` needs write access") })
		}
		w.comment(pr.Number, "dev", "/stagecoach destroy")
		w.wait("destroyed", func() bool { return w.statusIs(pr.Number, "destroyed", "/deploy") })
		sha := w.push(pr.Number, map[string]string{"app/x.txt": "y"})
		w.comment(pr.Number, "dev", "/frobnicate")
		w.wait("the help", func() bool { return w.replied(pr.Number, "not a command I know") })
		if e := w.env(pr.Number); e.Want == store.WantDeploy {
			t.Fatalf("a push redeployed a PR destroyed by /destroy: %+v", e)
		}
		w.comment(pr.Number, "dev", "/deploy")
		w.wait("redeployed", func() bool { return w.statusIs(pr.Number, "ready", "Commit "+sha[:7]+" is deployed") })
		if n := len(w.statusComments(pr.Number)); n != 1 {
			t.Fatalf("%d status comments", n)
		}
	})
}

func TestPREnvironmentDestroyRetries(t *testing.T) {
	t.Parallel()
	w := newPEWorld(t, "")
	pr := w.open(1, githubsim.PROptions{})
	w.wait("ready", func() bool { return w.statusIs(pr.Number, "ready") })
	// A bot with the wrong passphrase cannot open the stack's state: its destroy fails.
	if err := w.bot.Stop(); err != nil {
		t.Fatal(err)
	}
	w.passphrase = "wrong"
	w.start()
	if err := w.sim.ClosePR(repo, pr.Number, false); err != nil {
		t.Fatal(err)
	}
	w.wait("the failure in the comment", func() bool { return w.statusIs(pr.Number, "destroying", "destroy failed, retrying") })
	if e := w.env(pr.Number); e.Want != store.WantDestroy || e.Slot < 0 || !strings.Contains(e.LastError, "destroy failed") {
		t.Fatalf("the failed destroy is not kept: %+v", e)
	}
	w.passphrase = "test"
	w.restart()
	w.wait("the retried destroy", func() bool { return w.statusIs(pr.Number, "destroyed") })
	if e := w.env(pr.Number); e.LastError != "" || e.Slot != -1 {
		t.Fatalf("after the retry: %+v", e)
	}
}
