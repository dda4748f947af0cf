package bot_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// TestPREnvironmentOrphanSweep loses a PR environment's record and its close webhook while the bot
// is down; the sweeper finds the stack in the backend by its tags and destroys it.
func TestPREnvironmentOrphanSweep(t *testing.T) {
	t.Parallel()
	w := newPEWorld(t, "")
	pr1 := w.open(1, githubsim.PROptions{})
	pr2 := w.open(2, githubsim.PROptions{})
	w.wait("both ready", func() bool { return w.statusIs(pr1.Number, "ready") && w.statusIs(pr2.Number, "ready") })
	if err := w.bot.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(w.dataDir, "stagecoach.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `DELETE FROM stagecoach_pr_env WHERE repo = $1 AND pr = $2`, repo, pr1.Number); err != nil {
		t.Fatal(err)
	}
	st.Close()
	w.sim.SetWebhookURL("http://127.0.0.1:1/nowhere") // the close webhook is missed too
	if err := w.sim.ClosePR(repo, pr1.Number, false); err != nil {
		t.Fatal(err)
	}
	w.start()
	w.wait("the orphan's teardown", func() bool { return w.statusIs(pr1.Number, "destroyed") })

	tools, err := toolchain.Find(ctx, toolchain.Options{})
	if err != nil {
		testenv.SkipOrFail(t, "%v", err)
	}
	r, err := engine.New(engine.Config{PulumiCommand: tools.Pulumi, LanguageDirs: tools.LanguageDirs,
		BackendURL: "file://" + filepath.ToSlash(filepath.Join(w.dataDir, "state")), Passphrase: w.passphrase,
		PulumiHome: filepath.Join(w.dataDir, "pulumi-home"), WorkDir: t.TempDir()}, w.bot.Store(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
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
