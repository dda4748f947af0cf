package bot_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
)

// newPEWorld is the sample repository opted into PR environments, extra appended to its
// ephemeral section, and a bot with the real Pulumi engine and a stopped, settable clock.
func newPEWorld(t *testing.T, extra string) *bottest.World {
	t.Helper()
	return bottest.New(t, bottest.Pulumi(), bottest.WithClock(bottest.ClockAt(time.Now())), bottest.ExtraConfig(extra), bottest.StartBot())
}

// prDeploymentStates lists the states of every deployment of environment env, oldest first, with
// the environment URL of a success and "bad-request" for a deployment GitHub would not take.
func prDeploymentStates(w *bottest.World, env string) []string {
	var out []string
	for _, d := range w.Deployments(env) {
		if !d.TransientEnvironment || d.AutoMerge || d.RequiredContexts == nil || len(d.RequiredContexts) != 0 {
			out = append(out, "bad-request")
		}
		for _, s := range w.Sim.DeploymentStatuses(repo, d.ID) {
			st := s.State
			if s.State == "success" && s.EnvironmentURL != "" {
				st += "(" + s.EnvironmentURL + ")"
			}
			out = append(out, st)
		}
	}
	return out
}

func TestPREnvironment(t *testing.T) {
	t.Parallel()

	t.Run("a PR is deployed, updated on push, commanded and destroyed on close with one comment", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.OpenPR(githubsim.PROptions{})
		w.Wait("the PR environment", func() bool {
			return w.StatusIs(pr.Number, "ready", "https://pr-1.storefront.example.com", "Expires", "/extend")
		})
		e := w.PREnv(pr.Number)
		if e.Stack != "pr-1" || e.Slot != 0 || e.DeployedSHA != pr.HeadSHA || e.FirstDeployedAt.IsZero() {
			t.Fatalf("environment = %+v", e)
		}
		cfg, _ := w.Bot.Store().StackConfig(context.Background(), repo, "pr-1")
		if cfg["stagecoach:pr"] != "1" || cfg["stagecoach:slot"] != "0" {
			t.Fatalf("bot-set stack config = %v", cfg)
		}
		runs := w.Sim.CheckRuns(repo, pr.HeadSHA)
		found := false
		for _, r := range runs {
			if r.Name == ephemeral.CheckName {
				found = r.Conclusion == "success"
			}
		}
		if !found {
			t.Fatalf("no successful %s check run: %+v", ephemeral.CheckName, runs)
		}

		sha := w.Push(pr.Number, map[string]string{"infra/Pulumi.pr.yaml": "config:\n  storefront:greeting: hello again\n"})
		w.Wait("the push deployed", func() bool { return w.StatusIs(pr.Number, "ready", sha[:7]) })

		w.Comment(pr.Number, "rita", "/destroy")
		w.Wait("the refusal", func() bool { return w.Replied(pr.Number, "needs write access") })
		w.Comment(pr.Number, "dev", "/extend 24h")
		w.Comment(pr.Number, "dev", "/extend soon")
		w.Wait("the usage answer", func() bool { return w.Replied(pr.Number, "is not a duration") })
		w.Wait("the extension", func() bool {
			return w.PREnv(pr.Number).ExpiresAt.Sub(w.Clock.Now()) > 72*time.Hour+23*time.Hour
		})
		w.Comment(pr.Number, "dev", "/preview")
		w.Wait("the preview", func() bool { return w.StatusIs(pr.Number, "ready", "/preview of "+sha[:7]) })

		if err := w.Sim.ClosePR(repo, pr.Number, true); err != nil {
			t.Fatal(err)
		}
		w.Wait("the teardown", func() bool { return w.StatusIs(pr.Number, "destroyed") })
		states := strings.Join(prDeploymentStates(w, "pr-1"), " ")
		for _, want := range []string{"in_progress success(https://pr-1.storefront.example.com)", "inactive"} {
			if !strings.Contains(states, want) || strings.Contains(states, "bad-request") {
				t.Fatalf("deployment states = %s, want %s", states, want)
			}
		}
		if e := w.PREnv(pr.Number); e.Slot != -1 || e.Status != store.PRDestroyed {
			t.Fatalf("after teardown: %+v", e)
		}
		if cfg, _ := w.Bot.Store().StackConfig(context.Background(), repo, "pr-1"); len(cfg) != 0 {
			t.Fatalf("bot config left behind: %v", cfg)
		}
		if n := len(w.StatusComments(pr.Number)); n != 1 {
			t.Fatalf("%d status comments, want 1", n)
		}
	})
}

func TestPREnvironmentRules(t *testing.T) {
	t.Parallel()

	t.Run("a fork deploys only the commit a writer approves", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.OpenPR(githubsim.PROptions{Author: "eve", FromFork: true})
		w.Wait("the fork notice", func() bool {
			return w.StatusIs(pr.Number, "not deployed", "comes from a fork", "Commit "+pr.HeadSHA[:7]+" is waiting for approval")
		})
		w.Comment(pr.Number, "rita", "/deploy")
		w.Wait("the refusal", func() bool { return w.Replied(pr.Number, "needs write access") })
		// The writer names the commit reviewed: a plain /deploy in the same second as the push that
		// opened the PR would not count it as seen.
		w.Comment(pr.Number, "dev", "/deploy "+pr.HeadSHA[:7])
		w.Wait("the approved deploy", func() bool { return w.StatusIs(pr.Number, "ready", pr.HeadSHA[:7]) })
		sha := w.Push(pr.Number, map[string]string{"app/evil.txt": "x"})
		w.Wait("the new commit waiting", func() bool {
			return w.StatusIs(pr.Number, "ready", "Commit "+sha[:7]+" is waiting for approval")
		})
		if e := w.PREnv(pr.Number); e.DeployedSHA != pr.HeadSHA || e.DesiredSHA != pr.HeadSHA {
			t.Fatalf("an unapproved fork commit was wanted or deployed: %+v", e)
		}
		w.Comment(pr.Number, "dev", "/deploy "+sha[:7])
		w.Wait("the second approval", func() bool { return w.StatusIs(pr.Number, "ready", "Commit "+sha[:7]+" is deployed") })
		if !w.Replied(pr.Number, "approved commit "+sha[:7]) {
			t.Fatal("no approval answer")
		}
	})

	t.Run("with trigger label, adding the label later deploys; reopening redeploys", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "  trigger: label\n")
		pr := w.OpenPR(githubsim.PROptions{})
		w.Wait("the label hint", func() bool { return w.StatusIs(pr.Number, "not deployed", "stagecoach:deploy") })
		if err := w.Sim.AddLabel(repo, pr.Number, "stagecoach:deploy"); err != nil {
			t.Fatal(err)
		}
		w.Wait("the deploy", func() bool { return w.StatusIs(pr.Number, "ready") })
		if err := w.Sim.ClosePR(repo, pr.Number, false); err != nil {
			t.Fatal(err)
		}
		w.Wait("destroyed", func() bool { return w.StatusIs(pr.Number, "destroyed") })
		if err := w.Sim.ReopenPR(repo, pr.Number); err != nil {
			t.Fatal(err)
		}
		w.Wait("redeployed", func() bool { return w.StatusIs(pr.Number, "ready") })
	})

	t.Run("a draft waits for ready for review", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.OpenPR(githubsim.PROptions{Draft: true})
		w.Wait("the draft notice", func() bool { return w.StatusIs(pr.Number, "not deployed", "ready for review") })
		if err := w.Sim.MarkReady(repo, pr.Number); err != nil {
			t.Fatal(err)
		}
		w.Wait("the deploy", func() bool { return w.StatusIs(pr.Number, "ready", pr.HeadSHA[:7]) })
	})

	t.Run("a burst of pushes deploys the newest commit with at most two updates", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.OpenPR(githubsim.PROptions{})
		w.Wait("the first deploy to start", func() bool { return len(w.Deployments("pr-1")) == 1 })
		var last string
		for i := range 20 {
			last = w.Push(pr.Number, map[string]string{"app/burst.txt": strconv.Itoa(i)})
		}
		w.Wait("the newest commit", func() bool { return w.StatusIs(pr.Number, "ready", "Commit "+last[:7]+" is deployed") })
		deps := w.Deployments("pr-1")
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
		one := w.OpenPR(githubsim.PROptions{})
		w.Wait("PR 1 ready", func() bool { return w.StatusIs(one.Number, "ready") })
		two := w.OpenPR(githubsim.PROptions{})
		three := w.OpenPR(githubsim.PROptions{})
		w.Wait("PR 2 and 3 queued", func() bool {
			return w.StatusIs(two.Number, "queued", "allows 1 at once", "number 1 in line") &&
				w.StatusIs(three.Number, "queued", "number 2 in line")
		})
		if err := w.Sim.ClosePR(repo, one.Number, false); err != nil {
			t.Fatal(err)
		}
		w.Wait("PR 2 ready", func() bool { return w.StatusIs(two.Number, "ready") && w.StatusIs(one.Number, "destroyed") })
		if e := w.PREnv(two.Number); e.Slot != 0 {
			t.Fatalf("PR 2 did not reuse slot 0: %+v", e)
		}
		if e := w.PREnv(three.Number); e.Slot != -1 || e.Status != store.PRQueued {
			t.Fatalf("PR 3 should still wait: %+v", e)
		}
	})

	t.Run("an idle environment is warned, then expires; the keep label exempts", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "  ttl: 2h\n  ttl_warning: 30m\n")
		pr := w.OpenPR(githubsim.PROptions{})
		kept := w.OpenPR(githubsim.PROptions{Labels: []string{"stagecoach:keep"}})
		w.Wait("both ready", func() bool { return w.StatusIs(pr.Number, "ready") && w.StatusIs(kept.Number, "ready", "exempts") })
		w.Clock.Advance(100 * time.Minute)
		w.Restart() // the sweep runs on start
		w.Wait("the warning", func() bool {
			return w.Replied(pr.Number, "expires in 20m") && w.StatusIs(pr.Number, "ready", "expires soon")
		})
		w.Clock.Advance(21 * time.Minute)
		w.Restart()
		w.Wait("the expiry", func() bool { return w.StatusIs(pr.Number, "destroyed") })
		if e := w.PREnv(kept.Number); e.Status != store.PRReady {
			t.Fatalf("the kept environment: %+v", e)
		}
	})

	t.Run("the sweeper destroys a closed PR's stack after a missed webhook", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.OpenPR(githubsim.PROptions{})
		w.Wait("ready", func() bool { return w.StatusIs(pr.Number, "ready") })
		if err := w.Bot.Stop(); err != nil {
			t.Fatal(err)
		}
		w.Sim.SetWebhookURL("http://127.0.0.1:1/nowhere")
		if err := w.Sim.ClosePR(repo, pr.Number, false); err != nil {
			t.Fatal(err)
		}
		w.StartBot(bottest.BotOptions{})
		w.Wait("the sweep's teardown", func() bool { return w.StatusIs(pr.Number, "destroyed") })
	})

	t.Run("destroy and deploy commands, with and without permission", func(t *testing.T) {
		t.Parallel()
		w := newPEWorld(t, "")
		pr := w.OpenPR(githubsim.PROptions{})
		w.Wait("ready", func() bool { return w.StatusIs(pr.Number, "ready") })
		for _, c := range []string{"/deploy", "/preview", "/extend 1h"} {
			w.Comment(pr.Number, "rita", c)
			w.Wait("refusal of "+c, func() bool { return w.Replied(pr.Number, "`"+c+"` needs write access") })
		}
		w.Comment(pr.Number, "dev", "/stagecoach destroy")
		w.Wait("destroyed", func() bool { return w.StatusIs(pr.Number, "destroyed", "/deploy") })
		sha := w.Push(pr.Number, map[string]string{"app/x.txt": "y"})
		w.Comment(pr.Number, "dev", "/frobnicate")
		w.Wait("the help", func() bool { return w.Replied(pr.Number, "not a command I know") })
		if e := w.PREnv(pr.Number); e.Want == store.WantDeploy {
			t.Fatalf("a push redeployed a PR destroyed by /destroy: %+v", e)
		}
		w.Comment(pr.Number, "dev", "/deploy")
		w.Wait("redeployed", func() bool { return w.StatusIs(pr.Number, "ready", "Commit "+sha[:7]+" is deployed") })
		if n := len(w.StatusComments(pr.Number)); n != 1 {
			t.Fatalf("%d status comments", n)
		}
	})
}

func TestPREnvironmentDestroyRetries(t *testing.T) {
	t.Parallel()
	w := newPEWorld(t, "")
	pr := w.OpenPR(githubsim.PROptions{})
	w.Wait("ready", func() bool { return w.StatusIs(pr.Number, "ready") })
	// A bot with the wrong passphrase cannot open the stack's state: its destroy fails.
	if err := w.Bot.Stop(); err != nil {
		t.Fatal(err)
	}
	w.Passphrase = "wrong"
	w.StartBot(bottest.BotOptions{})
	if err := w.Sim.ClosePR(repo, pr.Number, false); err != nil {
		t.Fatal(err)
	}
	w.Wait("the failure in the comment", func() bool { return w.StatusIs(pr.Number, "destroying", "destroy failed, retrying") })
	if e := w.PREnv(pr.Number); e.Want != store.WantDestroy || e.Slot < 0 || !strings.Contains(e.LastError, "destroy failed") {
		t.Fatalf("the failed destroy is not kept: %+v", e)
	}
	w.Passphrase = "test"
	w.Restart()
	w.Wait("the retried destroy", func() bool { return w.StatusIs(pr.Number, "destroyed") })
	if e := w.PREnv(pr.Number); e.LastError != "" || e.Slot != -1 {
		t.Fatalf("after the retry: %+v", e)
	}
}
