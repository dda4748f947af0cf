package ephemeral

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi/githubapitest"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// oneRow keeps one PR's row in memory; the Records methods a test does not need panic (nil
// embedded interface), so a test that reaches one says so.
type oneRow struct {
	env store.PREnvironment
	mu  sync.Mutex
	Records
}

func (m *oneRow) UpdatePREnvironment(_ context.Context, _ string, _ int, _ *store.PREnvironment, fn func(*store.PREnvironment) error) (store.PREnvironment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.env
	if err := fn(&e); err != nil {
		return m.env, err
	}
	m.env = e
	return e, nil
}

// The PR has one bot comment, kept current: after a restart (no comment id in the row) the
// comment is found again by its marker and edited, never posted a second time; only the bot's
// own marked comment counts; a comment someone deleted is written anew. In memory, GitHub being
// the fake.
func TestTheOneCommentIsFoundAgainAndEditedNotPostedTwice(t *testing.T) {
	t.Parallel()
	cfg := &repoconfig.Config{Ephemeral: defaults(t)}
	row := store.PREnvironment{Repo: "acme/shop", PR: 7, Stack: "pr-7", Status: store.PRReady, DeployedSHA: "abc1234def"}
	// upsert writes the comment of a row recording commentID, on a PR seed puts comments on.
	upsert := func(t *testing.T, commentID int64, seed func(gh *githubapitest.Fake)) (*githubapitest.Fake, *oneRow) {
		t.Helper()
		gh := githubapitest.New("stagecoach[bot]")
		seed(gh)
		recs := &oneRow{env: row}
		recs.env.CommentID = commentID
		s := New(Options{Deps: feature.Deps{GitHub: gh}, Records: recs})
		if err := s.updateComment(context.Background(), gh, cfg, recs.env, nil); err != nil {
			t.Fatal(err)
		}
		return gh, recs
	}

	t.Run("a marked bot comment is edited in place and its id recorded", func(t *testing.T) {
		t.Parallel()
		var id int64
		gh, recs := upsert(t, 0, func(gh *githubapitest.Fake) {
			gh.AddComment("acme/shop", 7, "dev", "looks good")
			id = gh.AddComment("acme/shop", 7, "stagecoach[bot]", Marker+"\nan older status")
		})
		if n := gh.Count("CreateComment"); n != 0 {
			t.Errorf("posted %d new comments, want the old one edited", n)
		}
		comments := gh.Comments("acme/shop", 7)
		if len(comments) != 2 || comments[1].GetID() != id || !strings.Contains(comments[1].GetBody(), "abc1234") {
			t.Errorf("comments = %+v, want comment %d edited to the deployed status", comments, id)
		}
		if recs.env.CommentID != id {
			t.Errorf("row records comment %d, want %d", recs.env.CommentID, id)
		}
	})

	t.Run("a marker quoted by a person is not the bot's comment", func(t *testing.T) {
		t.Parallel()
		var quoted int64
		gh, recs := upsert(t, 0, func(gh *githubapitest.Fake) {
			quoted = gh.AddComment("acme/shop", 7, "dev", "> "+Marker+" why is this here?")
		})
		if n := gh.Count("EditComment"); n != 0 {
			t.Errorf("edited %d comments, want the person's comment left alone", n)
		}
		comments := gh.Comments("acme/shop", 7)
		if len(comments) != 2 || comments[0].GetID() != quoted || recs.env.CommentID != comments[1].GetID() {
			t.Errorf("comments = %+v, row comment %d; want a new bot comment recorded", comments, recs.env.CommentID)
		}
	})

	t.Run("a recorded comment someone deleted is written anew", func(t *testing.T) {
		t.Parallel()
		gh, recs := upsert(t, 99, func(*githubapitest.Fake) {}) // comment 99 is not on GitHub any more
		comments := gh.Comments("acme/shop", 7)
		if len(comments) != 1 || recs.env.CommentID != comments[0].GetID() {
			t.Errorf("comments = %+v, row comment %d; want one new comment recorded", comments, recs.env.CommentID)
		}
	})
}
