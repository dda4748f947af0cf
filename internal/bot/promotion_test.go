package bot_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
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

// newPromoWorld is a repository opted into promotions, whose freeze opens two hours after the test
// starts, and a bot with a running, settable clock and the real Pulumi engine.
func newPromoWorld(t *testing.T, engine storetest.Engine) *bottest.World {
	t.Helper()
	clock := bottest.RunningClock()
	files := maps.Clone(promoProject)
	files[".stagecoach.yaml"] = promoConfig(clock.Now().Add(2*time.Hour), clock.Now().Add(3*time.Hour))
	return bottest.New(t, bottest.Pulumi(), bottest.WithClock(clock), bottest.Database(engine.NewOptions(t)), bottest.Files(files),
		bottest.Settings(map[string]string{"STAGECOACH_PUBLIC_URL": "https://stagecoach.example", "STAGECOACH_SHUTDOWN_TIMEOUT": "10s"}),
		bottest.StartBot())
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
		pr1, s1 := w.MergePR("promote:staging")
		dev := w.WaitDeployed("dev", s1, "success")
		staging := w.WaitDeployed("staging", s1, "success")
		for _, ss := range [][]githubsim.DeploymentStatus{dev, staging} {
			if got := promoStates(ss); got != "queued,in_progress,success" {
				t.Errorf("statuses = %s, want queued,in_progress,success", got)
			}
		}
		if u := staging[len(staging)-1].EnvironmentURL; u != "https://staging.shop.example" {
			t.Errorf("staging environment_url = %q", u)
		}
		if d, _, _ := w.Deployment("dev", s1); d.AutoMerge || d.RequiredContexts == nil || len(d.RequiredContexts) != 0 || d.ProductionEnvironment {
			t.Errorf("dev deployment = %+v, want auto_merge false, required_contexts [] and not production", d)
		}
		if recs := w.Promotions("staging"); len(recs) != 1 || recs[0].Status != store.PromotionSucceeded || recs[0].Trigger != "label" || recs[0].SHA != s1 {
			t.Fatalf("staging records = %+v", recs)
		}
		w.Wait("the preview of staging on the PR", func() bool {
			for _, c := range w.Sim.Comments(repo, pr1) {
				if strings.Contains(c.Body, "Preview of `staging`") {
					return true
				}
			}
			return false
		})

		// /promote prod is refused for each gate with its explanation.
		answer := w.Ask(pr1, "dev", "/promote prod", "cannot promote")
		promoContains(t, answer, "needs maintain access", "@dev has write", "soaked in `staging`", "remain", "needs 1 approval(s)", "/approve prod")
		w.Ask(pr1, "mia", "/approve prod", "approved promoting")
		answer = w.Ask(pr1, "mia", "/promote prod", "cannot promote")
		promoContains(t, answer, "has 0 (none yet)") // mia's own approval does not count
		if strings.Contains(answer, "permission") {
			t.Errorf("mia qualifies as a promoter, yet:\n%s", answer)
		}
		// An approval of another commit does not count.
		_, other := w.MergePR()
		w.WaitDeployed("dev", other, "success")
		w.Ask(pr1, "sam", "/approve prod "+other, "approved promoting")
		w.Clock.Advance(2*time.Hour + 30*time.Minute) // soak over, freeze open
		answer = w.Ask(pr1, "mia", "/promote prod", "cannot promote")
		promoContains(t, answer, "frozen (release party) until", "has 0 (none yet)")
		if strings.Contains(answer, "soak") {
			t.Errorf("the soak is over, yet:\n%s", answer)
		}
		// zoe is not in acme/sre: her approval is refused outright.
		w.Ask(pr1, "zoe", "/approve prod", "does not count")
		w.Clock.Advance(time.Hour) // freeze over
		w.Ask(pr1, "sam", "/approve prod", "approved promoting")
		w.Ask(pr1, "mia", "/promote prod", "every gate passed")
		prod := w.WaitDeployed("prod", s1, "success")
		if u := prod[len(prod)-1].EnvironmentURL; u != "https://shop.example" {
			t.Errorf("prod environment_url = %q", u)
		}
		if u := prod[len(prod)-1].LogURL; !strings.HasPrefix(u, "https://stagecoach.example/logs/") {
			t.Errorf("prod log_url = %q", u)
		}
		if d, _, _ := w.Deployment("prod", s1); !d.ProductionEnvironment {
			t.Errorf("prod deployment is not a production environment: %+v", d)
		}
		rec := w.Promotions("prod")[0]
		if rec.Trigger != "comment" || rec.Requester != "mia" || strings.Join(rec.Approvers, ",") != "sam" || rec.Preview == "" ||
			rec.LogID == "" || rec.StartedAt.IsZero() || rec.FinishedAt.IsZero() || rec.ReplacedSHA != "" {
			t.Errorf("prod record = %+v", rec)
		}

		// /rollback dev goes back from the second commit to the first, recorded as a rollback.
		w.Ask(pr1, "mia", "/rollback dev", "every gate passed")
		w.Wait("the rollback of dev", func() bool {
			_, states, ok := w.Deployment("dev", s1)
			d, _, _ := w.Deployment("dev", s1)
			return ok && d.Task == "deploy:rollback" && states[len(states)-1] == "success"
		})
		if sha, _, err := w.Bot.Store().CurrentDeployment(context.Background(), repo, "dev"); err != nil || sha != s1 {
			t.Errorf("dev runs %s (%v), want %s after the rollback", sha, err, s1)
		}
		if r := w.Promotions("dev")[0]; !r.Rollback || r.ReplacedSHA != other {
			t.Errorf("rollback record = %+v", r)
		}
		answer = w.Ask(pr1, "dev", "/history dev", "Recent promotions to `dev`")
		promoContains(t, answer, "(rollback)", "label", "merge", s1[:7], other[:7])

		// A deployment created outside the bot goes through the same gates: one to staging passes,
		// one to prod is refused with a failure status that says why.
		if _, err := w.Sim.CreateDeployment(repo, other, "staging", "mia"); err != nil {
			t.Fatal(err)
		}
		w.WaitDeployed("staging", other, "success")
		if _, err := w.Sim.CreateDeployment(repo, other, "prod", "mia"); err != nil {
			t.Fatal(err)
		}
		refused := w.WaitDeployed("prod", other, "failure")
		promoContains(t, refused[len(refused)-1].Description, "refused")
		if testing.Verbose() {
			for _, c := range w.Sim.Comments(repo, pr1) {
				t.Logf("--- %s:\n%s", c.Author, c.Body)
			}
		}
		if r := w.Promotions("prod")[0]; r.Status != store.PromotionRefused || r.Trigger != "api" || !strings.Contains(r.Reason, "soak") {
			t.Errorf("refused record = %+v", r)
		}
	})

	for _, e := range storetest.Engines() {
		t.Run(e.Name+": promotions queue per environment, the newest commit supersedes older ones and the records survive a restart", func(t *testing.T) {
			t.Parallel()
			w := newPromoWorld(t, e)
			// Another operation holds the dev stack: the first promotion waits for it.
			key := "pulumi-stack:" + w.Backend + "#organization/shop/dev"
			ctx := context.Background()
			if ok, err := w.Bot.Store().TryAcquire(ctx, key, "someone-else", time.Hour); err != nil || !ok {
				t.Fatalf("holding the dev stack: %v, %v", ok, err)
			}
			// The scheduler has put dev to sleep: deploys keep it asleep.
			if err := w.Bot.Store().SetStackConfig(ctx, repo, "dev", map[string]string{"stagecoach:sleeping": "true"}); err != nil {
				t.Fatal(err)
			}
			_, s1 := w.MergePR()
			w.Wait("the first promotion to start", func() bool {
				_, states, ok := w.Deployment("dev", s1)
				return ok && len(states) == 2 && states[1] == "in_progress"
			})
			pr2, s2 := w.MergePR()
			pr3, s3 := w.MergePR()
			w.Wait("two more queued", func() bool {
				_, a, ok2 := w.Deployment("dev", s2)
				_, b, ok3 := w.Deployment("dev", s3)
				return ok2 && ok3 && len(a) == 1 && len(b) == 1
			})
			if err := w.Bot.Store().Release(ctx, key, "someone-else"); err != nil {
				t.Fatal(err)
			}
			w.WaitDeployed("dev", s1, "success")
			w.WaitDeployed("dev", s3, "success")
			if ss := w.WaitDeployed("dev", s2, "inactive"); promoStates(ss) != "queued,inactive" {
				t.Errorf("superseded statuses = %s", promoStates(ss))
			}
			w.Wait("the result on the third PR, still asleep", func() bool {
				for _, c := range w.Sim.Comments(repo, pr3) {
					if strings.Contains(c.Body, "Promotion of "+s3[:7]) && strings.Contains(c.Body, "| `sleeping` | `true` |") {
						return true
					}
				}
				return false
			})
			w.Wait("the superseded PR to be told", func() bool {
				for _, c := range w.Sim.Comments(repo, pr2) {
					if strings.Contains(c.Body, "was superseded") && strings.Contains(c.Body, s3[:7]) {
						return true
					}
				}
				return false
			})
			byStatus := map[string]string{}
			for _, r := range w.Promotions("dev") {
				byStatus[r.SHA] = r.Status
			}
			if byStatus[s1] != store.PromotionSucceeded || byStatus[s2] != store.PromotionSuperseded || byStatus[s3] != store.PromotionSucceeded {
				t.Errorf("dev records = %v", byStatus)
			}

			// After a restart the current commit and the history are still known.
			w.Restart()
			if sha, _, err := w.Bot.Store().CurrentDeployment(ctx, repo, "dev"); err != nil || sha != s3 {
				t.Errorf("after a restart dev runs %s (%v), want %s", sha, err, s3)
			}
			answer := w.Ask(pr2, "dev", "/history dev", "Recent promotions to `dev`")
			promoContains(t, answer, "superseded", s1[:7], s2[:7], s3[:7])

			// A promotion label added after the merge sends the commit on from the first stage it
			// has not reached.
			if err := w.Sim.AddLabelBy(repo, pr2, "promote:staging", "mia"); err != nil {
				t.Fatal(err)
			}
			w.WaitDeployed("staging", s2, "success")
			if r := w.Promotions("dev")[0]; r.SHA != s2 || r.Trigger != "label" || r.Status != store.PromotionSucceeded {
				t.Errorf("dev record after the label = %+v", r)
			}
		})
	}
}
