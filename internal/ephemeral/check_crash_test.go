package ephemeral

import (
	"context"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi/githubapitest"
	"github.com/stagecoach/stagecoach/internal/store"
)

// history is a row that remembers what it held before each write, so a test can stop the world
// just before the last write reached the store.
type history struct {
	oneRow
	before []store.PREnvironment
}

func (m *history) UpdatePREnvironment(ctx context.Context, repo string, pr int, init *store.PREnvironment, fn func(*store.PREnvironment) error) (store.PREnvironment, error) {
	m.before = append(m.before, m.env)
	return m.oneRow.UpdatePREnvironment(ctx, repo, pr, init, fn)
}

// A crash between creating the head's check run and recording its id used to leave that run in
// progress for ever beside a second one made after the restart (the crash harness found it). Now
// the head is recorded before the run is created and, after the restart, the run GitHub already
// has is taken up.
func TestACheckRunCreatedJustBeforeACrashIsTakenUpNotMadeTwice(t *testing.T) {
	t.Parallel()
	const sha = "aa87c4c7d5273d240fe259b9e3fec4d3800468e6"
	ctx := context.Background()
	gh := githubapitest.New("stagecoach[bot]")
	// Another PR's stack has a run of the same name on the same commit: it is not this PR's.
	other, _, err := gh.CreateCheckRun(ctx, "acme", "shop", github.CreateCheckRunOptions{
		Name: CheckName, HeadSHA: sha, Status: github.String("in_progress"), ExternalID: github.String("pr-9")})
	if err != nil {
		t.Fatal(err)
	}

	// The first life: the check run is created; the bot dies before the last write of startCheck
	// (the one recording the run's id) reaches the store.
	first := &history{oneRow: oneRow{env: store.PREnvironment{Repo: "acme/shop", PR: 7, Stack: "pr-7", Status: store.PRDeploying}}}
	id := New(Options{Deps: feature.Deps{GitHub: gh}, Records: first}).startCheck(ctx, gh, first.env, sha)
	if id == 0 || id == other.GetID() || len(first.before) == 0 {
		t.Fatalf("startCheck made run %d with %d writes, want a new run of its own, recorded", id, len(first.before))
	}
	crashed := first.before[len(first.before)-1]

	// The restart: the same head's deploy starts again from what the store kept.
	again := &oneRow{env: crashed}
	creates := gh.Count("CreateCheckRun")
	got := New(Options{Deps: feature.Deps{GitHub: gh}, Records: again}).startCheck(ctx, gh, again.env, sha)
	if n := gh.Count("CreateCheckRun") - creates; n != 0 {
		t.Fatalf("the restart created %d more check runs for the head, want run %d taken up", n, id)
	}
	if got != id || again.env.CheckRunID != id || again.env.CheckSHA != sha {
		t.Errorf("took up run %d, row records %d on %q; want %d on %s", got, again.env.CheckRunID, again.env.CheckSHA, id, sha)
	}
}
