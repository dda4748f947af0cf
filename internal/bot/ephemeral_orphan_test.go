package bot_test

import (
	"context"
	"testing"

	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
)

// TestPREnvironmentOrphanSweep loses a PR environment's record and its close webhook while the bot
// is down; the sweeper finds the stack in the backend by its tags and destroys it.
func TestPREnvironmentOrphanSweep(t *testing.T) {
	t.Parallel()
	w := newPEWorld(t, "")
	pr1 := w.OpenPR(githubsim.PROptions{})
	pr2 := w.OpenPR(githubsim.PROptions{})
	w.Wait("both ready", func() bool { return w.StatusIs(pr1.Number, "ready") && w.StatusIs(pr2.Number, "ready") })
	if err := w.Bot.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, w.DB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `DELETE FROM stagecoach_pr_env WHERE repo = $1 AND pr = $2`, repo, pr1.Number); err != nil {
		t.Fatal(err)
	}
	st.Close()
	w.Sim.SetWebhookURL("http://127.0.0.1:1/nowhere") // the close webhook is missed too
	if err := w.Sim.ClosePR(repo, pr1.Number, false); err != nil {
		t.Fatal(err)
	}
	w.StartBot(bottest.BotOptions{})
	w.Wait("the orphan's teardown", func() bool { return w.StatusIs(pr1.Number, "destroyed") })

	r := w.Runner(w.Bot.Store())
	stacks, err := r.ListStacks(ctx, "storefront", map[string]string{engine.TagRepo: repo})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stacks {
		names = append(names, s.Tags[engine.TagPR])
	}
	if len(stacks) != 1 || stacks[0].Tags[engine.TagPR] != "2" {
		t.Fatalf("stacks left for PRs %v, want only PR 2's", names)
	}
}
