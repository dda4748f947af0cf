package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/ephemeral/demo"
	"github.com/stagecoach/stagecoach/internal/githubsim"
)

// TestSchedulePREnvironments puts a PR environment to sleep with the ephemeral schedule, after its
// grace period, and shows that a push to the PR keeps it asleep.
func TestSchedulePREnvironments(t *testing.T) {
	t.Parallel()
	w := newPEWorld(t, `schedules:
  ephemeral:
    sleep: "CRON_TZ=UTC 0 20 * * *"
    wake: "CRON_TZ=UTC 0 7 * * *"
    grace: 2h
`)
	// The sample project, with the sleep key as an output.
	project := strings.Replace(demo.Project["infra/Pulumi.yaml"], "  greeting:\n    value: hello\n",
		"  greeting:\n    value: hello\n  stagecoach:sleeping:\n    value: false\n", 1) + "  sleeping: ${stagecoach:sleeping}\n"
	if _, err := w.Sim.Commit(repo, "main", map[string]string{"infra/Pulumi.yaml": project}, "show the sleep key"); err != nil {
		t.Fatal(err)
	}
	set := func(s string) {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		w.Clock.Set(v)
	}
	sleeping := func() string {
		t.Helper()
		return w.Outputs("storefront", "pr-1")["sleeping"].Value
	}

	set("2026-11-25 19:00")
	pr := w.OpenPR(githubsim.PROptions{})
	w.Wait("the PR environment", func() bool { return w.StatusIs(pr.Number, "ready") })

	w.Run(t, "a fresh environment keeps its grace period", func(t *testing.T) {
		set("2026-11-25 20:30") // after the scheduled sleep, within 2h of the first deploy
		w.Tick(0)
		if got := sleeping(); got != "false" {
			t.Fatalf("sleeping = %q during the grace period", got)
		}
	})

	w.Run(t, "after the grace period the schedule puts it to sleep", func(t *testing.T) {
		set("2026-11-25 21:30")
		w.Tick(1)
		if got := sleeping(); got != "true" {
			t.Fatalf("sleeping = %q", got)
		}
	})

	w.Run(t, "a push to the PR redeploys it and keeps it asleep", func(t *testing.T) {
		sha := w.Push(pr.Number, map[string]string{"app/more.txt": "y"})
		w.Wait("the redeploy", func() bool { return w.PREnv(pr.Number).DeployedSHA == sha })
		if got := sleeping(); got != "true" {
			t.Fatalf("sleeping = %q after the redeploy", got)
		}
	})

	w.Run(t, "the morning wakes it", func(t *testing.T) {
		set("2026-11-26 07:05")
		w.Tick(1)
		if got := sleeping(); got != "false" {
			t.Fatalf("sleeping = %q", got)
		}
	})
}
