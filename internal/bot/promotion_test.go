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
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// promoConfig: dev on merge, staging by label, prod by command behind maintainers, a soak, one
// approval from team acme/sre and a one-off freeze that opens two hours after the test starts.
func promoConfig(freezeStart, freezeEnd time.Time) string {
	return fmt.Sprintf(`project: infra
environments:
  - name: dev
  - name: staging
    trigger: label
  - name: prod
    promoters:
      permission: maintain
    soak: 1h
    approvals:
      required: 1
      approvers:
        teams: [acme/sre]
    freeze:
      - reason: release party
        start: %s
        end: %s
`, freezeStart.Format(time.RFC3339), freezeEnd.Format(time.RFC3339))
}

// promoProject is a YAML Pulumi project (no plugins) whose url output depends on each stack's config.
var promoProject = map[string]string{
	"infra/Pulumi.yaml": "name: shop\nruntime: yaml\nconfig:\n  host:\n    type: string\n  stagecoach:sleeping:\n    value: false\n" +
		"outputs:\n  url: https://${host}\n  stack: ${pulumi.stack}\n  sleeping: ${stagecoach:sleeping}\n",
	"infra/Pulumi.dev.yaml":     "config:\n  shop:host: dev.shop.example\n",
	"infra/Pulumi.staging.yaml": "config:\n  shop:host: staging.shop.example\n",
	"infra/Pulumi.prod.yaml":    "config:\n  shop:host: shop.example\n",
}

// promoClock is the bot's clock: the wall clock moved forward by Advance.
type promoClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *promoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}
func (c *promoClock) Advance(d time.Duration) { c.mu.Lock(); c.offset += d; c.mu.Unlock() }

// promoWorld is a simulated GitHub with a repository opted into promotions and a bot with a
// settable clock and the real Pulumi engine.
type promoWorld struct {
	t       *testing.T
	sim     *githubsim.Sim
	clock   *promoClock
	bot     *bot.Bot
	backend string
	newBot  func() *bot.Bot
}

func newPromoWorld(t *testing.T, engine storetest.Engine) *promoWorld {
	t.Helper()
	if _, err := toolchain.Find(context.Background(), toolchain.Options{}); err != nil {
		testenv.SkipOrFail(t, "the Pulumi CLI is not installed (%v); run `bot toolchain install`", err)
	}
	clock := &promoClock{}
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: secret, AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	sim.AddInstallation("acme")
	files := map[string]string{".stagecoach.yaml": promoConfig(clock.Now().Add(2*time.Hour), clock.Now().Add(3*time.Hour))}
	for k, v := range promoProject {
		files[k] = v
	}
	if _, err := sim.CreateRepo("acme", "shop", files); err != nil {
		t.Fatal(err)
	}
	for login, role := range map[string]string{"dev": "write", "mia": "maintain", "sam": "write", "zoe": "write"} {
		sim.SetCollaborator(repo, login, role)
	}
	sim.AddTeamMember("acme", "sre", "sam")
	sim.AddTeamMember("acme", "sre", "mia")

	dataDir := t.TempDir()
	so := engine.NewOptions(t)
	env := map[string]string{
		"STAGECOACH_DATABASE_URL":          so.DatabaseURL,
		"STAGECOACH_ADDR":                  "127.0.0.1:0",
		"STAGECOACH_DATA_DIR":              dataDir,
		"STAGECOACH_WEBHOOK_SECRET":        secret,
		"STAGECOACH_GITHUB_APP_ID":         strconv.FormatInt(sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY":    string(sim.AppPrivateKeyPEM()),
		"STAGECOACH_GITHUB_API_URL":        sim.URL(),
		"STAGECOACH_SHUTDOWN_TIMEOUT":      "10s",
		"STAGECOACH_GITHUB_MAX_RETRIES":    "3",
		"STAGECOACH_GITHUB_MAX_RETRY_WAIT": "2s",
		"PULUMI_CONFIG_PASSPHRASE":         "test",
		"STAGECOACH_PUBLIC_URL":            "https://stagecoach.example",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	newBot := func() *bot.Bot {
		b, err := bot.New(context.Background(), bot.Options{Config: cfg, Logger: logger, Now: clock.Now, ReplicaID: "one", Schema: so.Schema})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Stop() })
		sim.SetWebhookURL("http://" + b.Addr() + "/webhooks/github")
		return b
	}
	return &promoWorld{t: t, sim: sim, clock: clock, bot: newBot(), backend: cfg.Pulumi.BackendURL, newBot: newBot}
}

// restart stops the bot and starts a new one on the same data directory and database.
func (w *promoWorld) restart() {
	w.t.Helper()
	if err := w.bot.Stop(); err != nil {
		w.t.Fatal(err)
	}
	w.bot = w.newBot()
}

// wait blocks until cond holds, re-checking on every simulator change.
func (w *promoWorld) wait(what string, cond func() bool) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := w.sim.WaitFor(ctx, cond); err != nil {
		w.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// mergePR opens a PR with labels and merges it, returning its number and merge commit.
func (w *promoWorld) mergePR(n int, labels ...string) (int, string) {
	w.t.Helper()
	pr, err := w.sim.OpenPR(repo, githubsim.PROptions{Author: "dev", Branch: fmt.Sprintf("change-%d", n), Labels: labels,
		Files: map[string]string{fmt.Sprintf("app/f%d.txt", n): "x"}})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.sim.ClosePR(repo, pr.Number, true); err != nil {
		w.t.Fatal(err)
	}
	got, err := w.sim.PR(repo, pr.Number)
	if err != nil {
		w.t.Fatal(err)
	}
	return pr.Number, got.MergeCommitSHA
}

// deployment returns the newest GitHub deployment of sha to env and its statuses.
func (w *promoWorld) deployment(env, sha string) (githubsim.Deployment, []string, bool) {
	deps := w.sim.Deployments(repo)
	for i := len(deps) - 1; i >= 0; i-- {
		d := deps[i]
		if d.Environment == env && d.SHA == sha {
			var states []string
			for _, s := range w.sim.DeploymentStatuses(repo, d.ID) {
				states = append(states, s.State)
			}
			return d, states, true
		}
	}
	return githubsim.Deployment{}, nil, false
}

// waitDeployed waits until sha's deployment to env ends in final and returns its statuses.
func (w *promoWorld) waitDeployed(env, sha, final string) []githubsim.DeploymentStatus {
	w.t.Helper()
	var id int64
	w.wait(fmt.Sprintf("%s of %.7s to %s", final, sha, env), func() bool {
		d, states, ok := w.deployment(env, sha)
		id = d.ID
		return ok && len(states) > 0 && states[len(states)-1] == final
	})
	return w.sim.DeploymentStatuses(repo, id)
}

// say comments body on pr as author and waits for the bot's answer containing want.
func (w *promoWorld) say(pr int, author, body, want string) string {
	w.t.Helper()
	before := len(w.sim.Comments(repo, pr))
	if _, err := w.sim.Comment(repo, pr, author, body); err != nil {
		w.t.Fatal(err)
	}
	var answer string
	w.wait(fmt.Sprintf("an answer to %q containing %q", body, want), func() bool {
		for _, c := range w.sim.Comments(repo, pr)[before:] {
			if c.Author == w.sim.BotLogin() && strings.Contains(c.Body, want) {
				answer = c.Body
				return true
			}
		}
		return false
	})
	return answer
}

func (w *promoWorld) records(env string) []store.Promotion {
	w.t.Helper()
	ps, err := w.bot.Store().PromotionHistory(context.Background(), repo, env, 50)
	if err != nil {
		w.t.Fatal(err)
	}
	return ps
}

func promoContains(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%q is missing from:\n%s", want, text)
		}
	}
}

func promoStates(ss []githubsim.DeploymentStatus) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.State)
	}
	return strings.Join(out, ",")
}

func TestPromotion(t *testing.T) {
	t.Parallel()

	t.Run("commits travel dev, staging and prod through every gate and can be rolled back", func(t *testing.T) {
		t.Parallel()
		w := newPromoWorld(t, storetest.Engines()[0])

		// A merged PR labelled promote:staging reaches dev, then staging, with the same commit.
		pr1, s1 := w.mergePR(1, "promote:staging")
		dev := w.waitDeployed("dev", s1, "success")
		staging := w.waitDeployed("staging", s1, "success")
		for _, ss := range [][]githubsim.DeploymentStatus{dev, staging} {
			if got := promoStates(ss); got != "queued,in_progress,success" {
				t.Errorf("statuses = %s, want queued,in_progress,success", got)
			}
		}
		if u := staging[len(staging)-1].EnvironmentURL; u != "https://staging.shop.example" {
			t.Errorf("staging environment_url = %q", u)
		}
		if d, _, _ := w.deployment("dev", s1); d.AutoMerge || d.RequiredContexts == nil || len(d.RequiredContexts) != 0 || d.ProductionEnvironment {
			t.Errorf("dev deployment = %+v, want auto_merge false, required_contexts [] and not production", d)
		}
		if recs := w.records("staging"); len(recs) != 1 || recs[0].Status != store.PromotionSucceeded || recs[0].Trigger != "label" || recs[0].SHA != s1 {
			t.Fatalf("staging records = %+v", recs)
		}
		w.wait("the preview of staging on the PR", func() bool {
			for _, c := range w.sim.Comments(repo, pr1) {
				if strings.Contains(c.Body, "Preview of `staging`") {
					return true
				}
			}
			return false
		})

		// /promote prod is refused for each gate with its explanation.
		answer := w.say(pr1, "dev", "/promote prod", "cannot promote")
		promoContains(t, answer, "needs maintain access", "@dev has write", "soaked in `staging`", "remain", "needs 1 approval(s)", "/approve prod")
		w.say(pr1, "mia", "/approve prod", "approved promoting")
		answer = w.say(pr1, "mia", "/promote prod", "cannot promote")
		promoContains(t, answer, "has 0 (none yet)") // mia's own approval does not count
		if strings.Contains(answer, "permission") {
			t.Errorf("mia qualifies as a promoter, yet:\n%s", answer)
		}
		// An approval of another commit does not count.
		_, other := w.mergePR(2)
		w.waitDeployed("dev", other, "success")
		w.say(pr1, "sam", "/approve prod "+other, "approved promoting")
		w.clock.Advance(2*time.Hour + 30*time.Minute) // soak over, freeze open
		answer = w.say(pr1, "mia", "/promote prod", "cannot promote")
		promoContains(t, answer, "frozen (release party) until", "has 0 (none yet)")
		if strings.Contains(answer, "soak") {
			t.Errorf("the soak is over, yet:\n%s", answer)
		}
		// zoe is not in acme/sre: her approval is refused outright.
		w.say(pr1, "zoe", "/approve prod", "does not count")
		w.clock.Advance(time.Hour) // freeze over
		w.say(pr1, "sam", "/approve prod", "approved promoting")
		w.say(pr1, "mia", "/promote prod", "every gate passed")
		prod := w.waitDeployed("prod", s1, "success")
		if u := prod[len(prod)-1].EnvironmentURL; u != "https://shop.example" {
			t.Errorf("prod environment_url = %q", u)
		}
		if u := prod[len(prod)-1].LogURL; !strings.HasPrefix(u, "https://stagecoach.example/logs/") {
			t.Errorf("prod log_url = %q", u)
		}
		if d, _, _ := w.deployment("prod", s1); !d.ProductionEnvironment {
			t.Errorf("prod deployment is not a production environment: %+v", d)
		}
		rec := w.records("prod")[0]
		if rec.Trigger != "comment" || rec.Requester != "mia" || strings.Join(rec.Approvers, ",") != "sam" || rec.Preview == "" ||
			rec.LogID == "" || rec.StartedAt.IsZero() || rec.FinishedAt.IsZero() || rec.ReplacedSHA != "" {
			t.Errorf("prod record = %+v", rec)
		}

		// /rollback dev goes back from the second commit to the first, recorded as a rollback.
		w.say(pr1, "mia", "/rollback dev", "every gate passed")
		w.wait("the rollback of dev", func() bool {
			_, states, ok := w.deployment("dev", s1)
			d, _, _ := w.deployment("dev", s1)
			return ok && d.Task == "deploy:rollback" && states[len(states)-1] == "success"
		})
		if sha, _, err := w.bot.Store().CurrentDeployment(context.Background(), repo, "dev"); err != nil || sha != s1 {
			t.Errorf("dev runs %s (%v), want %s after the rollback", sha, err, s1)
		}
		if r := w.records("dev")[0]; !r.Rollback || r.ReplacedSHA != other {
			t.Errorf("rollback record = %+v", r)
		}
		answer = w.say(pr1, "dev", "/history dev", "Recent promotions to `dev`")
		promoContains(t, answer, "(rollback)", "label", "merge", s1[:7], other[:7])

		// A deployment created outside the bot goes through the same gates: one to staging passes,
		// one to prod is refused with a failure status that says why.
		if _, err := w.sim.CreateDeployment(repo, other, "staging", "mia"); err != nil {
			t.Fatal(err)
		}
		w.waitDeployed("staging", other, "success")
		if _, err := w.sim.CreateDeployment(repo, other, "prod", "mia"); err != nil {
			t.Fatal(err)
		}
		refused := w.waitDeployed("prod", other, "failure")
		promoContains(t, refused[len(refused)-1].Description, "refused")
		if testing.Verbose() {
			for _, c := range w.sim.Comments(repo, pr1) {
				t.Logf("--- %s:\n%s", c.Author, c.Body)
			}
		}
		if r := w.records("prod")[0]; r.Status != store.PromotionRefused || r.Trigger != "api" || !strings.Contains(r.Reason, "soak") {
			t.Errorf("refused record = %+v", r)
		}
	})

	for _, e := range storetest.Engines() {
		t.Run(e.Name+": promotions queue per environment, the newest commit supersedes older ones and the records survive a restart", func(t *testing.T) {
			t.Parallel()
			w := newPromoWorld(t, e)
			// Another operation holds the dev stack: the first promotion waits for it.
			key := "pulumi-stack:" + w.backend + "#organization/shop/dev"
			ctx := context.Background()
			if ok, err := w.bot.Store().TryAcquire(ctx, key, "someone-else", time.Hour); err != nil || !ok {
				t.Fatalf("holding the dev stack: %v, %v", ok, err)
			}
			// The scheduler has put dev to sleep: deploys keep it asleep.
			if err := w.bot.Store().SetStackConfig(ctx, repo, "dev", map[string]string{"stagecoach:sleeping": "true"}); err != nil {
				t.Fatal(err)
			}
			_, s1 := w.mergePR(1)
			w.wait("the first promotion to start", func() bool {
				_, states, ok := w.deployment("dev", s1)
				return ok && len(states) == 2 && states[1] == "in_progress"
			})
			pr2, s2 := w.mergePR(2)
			pr3, s3 := w.mergePR(3)
			w.wait("two more queued", func() bool {
				_, a, ok2 := w.deployment("dev", s2)
				_, b, ok3 := w.deployment("dev", s3)
				return ok2 && ok3 && len(a) == 1 && len(b) == 1
			})
			if err := w.bot.Store().Release(ctx, key, "someone-else"); err != nil {
				t.Fatal(err)
			}
			w.waitDeployed("dev", s1, "success")
			w.waitDeployed("dev", s3, "success")
			if ss := w.waitDeployed("dev", s2, "inactive"); promoStates(ss) != "queued,inactive" {
				t.Errorf("superseded statuses = %s", promoStates(ss))
			}
			w.wait("the result on the third PR, still asleep", func() bool {
				for _, c := range w.sim.Comments(repo, pr3) {
					if strings.Contains(c.Body, "Promotion of "+s3[:7]) && strings.Contains(c.Body, "| `sleeping` | `true` |") {
						return true
					}
				}
				return false
			})
			w.wait("the superseded PR to be told", func() bool {
				for _, c := range w.sim.Comments(repo, pr2) {
					if strings.Contains(c.Body, "was superseded") && strings.Contains(c.Body, s3[:7]) {
						return true
					}
				}
				return false
			})
			byStatus := map[string]string{}
			for _, r := range w.records("dev") {
				byStatus[r.SHA] = r.Status
			}
			if byStatus[s1] != store.PromotionSucceeded || byStatus[s2] != store.PromotionSuperseded || byStatus[s3] != store.PromotionSucceeded {
				t.Errorf("dev records = %v", byStatus)
			}

			// After a restart the current commit and the history are still known.
			w.restart()
			if sha, _, err := w.bot.Store().CurrentDeployment(ctx, repo, "dev"); err != nil || sha != s3 {
				t.Errorf("after a restart dev runs %s (%v), want %s", sha, err, s3)
			}
			answer := w.say(pr2, "dev", "/history dev", "Recent promotions to `dev`")
			promoContains(t, answer, "superseded", s1[:7], s2[:7], s3[:7])

			// A promotion label added after the merge sends the commit on from the first stage it
			// has not reached.
			if err := w.sim.AddLabelBy(repo, pr2, "promote:staging", "mia"); err != nil {
				t.Fatal(err)
			}
			w.waitDeployed("staging", s2, "success")
			if r := w.records("dev")[0]; r.SHA != s2 || r.Trigger != "label" || r.Status != store.PromotionSucceeded {
				t.Errorf("dev record after the label = %+v", r)
			}
		})
	}
}
