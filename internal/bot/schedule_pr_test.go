package bot_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
	"github.com/stagecoach/stagecoach/internal/ephemeral/demo"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
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
	if _, err := w.sim.Commit(repo, "main", map[string]string{"infra/Pulumi.yaml": project}, "show the sleep key"); err != nil {
		t.Fatal(err)
	}
	set := func(s string) {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		w.clock.mu.Lock()
		w.clock.t = v
		w.clock.mu.Unlock()
	}
	if _, err := toolchain.Find(context.Background(), toolchain.Options{}); err != nil {
		testenv.SkipOrFail(t, "%v", err)
	}
	sleeping := func() string {
		t.Helper()
		backend := "file://" + filepath.ToSlash(filepath.Join(w.dataDir, "state"))
		return enginetest.StateOutputs(t, backend, "storefront", "pr-1")["sleeping"].Value
	}

	set("2026-11-25 19:00")
	pr := w.open(1, githubsim.PROptions{})
	w.wait("the PR environment", func() bool { return w.statusIs(pr.Number, "ready") })

	t.Run("a fresh environment keeps its grace period", func(t *testing.T) {
		set("2026-11-25 20:30") // after the scheduled sleep, within 2h of the first deploy
		tick(t, w.bot, 0)
		if got := sleeping(); got != "false" {
			t.Fatalf("sleeping = %q during the grace period", got)
		}
	})

	t.Run("after the grace period the schedule puts it to sleep", func(t *testing.T) {
		set("2026-11-25 21:30")
		tick(t, w.bot, 1)
		if got := sleeping(); got != "true" {
			t.Fatalf("sleeping = %q", got)
		}
	})

	t.Run("a push to the PR redeploys it and keeps it asleep", func(t *testing.T) {
		sha := w.push(pr.Number, map[string]string{"app/more.txt": "y"})
		w.wait("the redeploy", func() bool { return w.env(pr.Number).DeployedSHA == sha })
		if got := sleeping(); got != "true" {
			t.Fatalf("sleeping = %q after the redeploy", got)
		}
	})

	t.Run("the morning wakes it", func(t *testing.T) {
		set("2026-11-26 07:05")
		tick(t, w.bot, 1)
		if got := sleeping(); got != "false" {
			t.Fatalf("sleeping = %q", got)
		}
	})
}
