package promotion_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/promotion"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/testenv/golden"
)

func TestRendering(t *testing.T) {
	t.Parallel()
	t.Run("every refusal of a promotion to prod", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Requester = promotion.Person{Login: "zoe", Permission: "write"}
		f.Approvals = f.Approvals[:1]
		f.Now = time.Date(2026, 12, 30, 12, 0, 0, 0, time.UTC)
		f.Succeeded = map[string]time.Time{"dev": f.Now.Add(-time.Hour), "staging": f.Now.Add(-90 * time.Minute)}
		golden.Assert(t, filepath.Join("testdata", "refusals.md"), promotion.Explain(promotion.Check(f)))
	})
	t.Run("history of an environment", func(t *testing.T) {
		t.Parallel()
		at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		ps := []store.Promotion{
			{SHA: "cccccccccc", ReplacedSHA: "bbbbbbbbbb", Trigger: "comment", Rollback: true, Requester: "mia", Approvers: []string{"sam"},
				Status: store.PromotionSucceeded, Preview: "1 to update", LogID: "log-3", StartedAt: at.Add(2 * time.Hour), FinishedAt: at.Add(2*time.Hour + time.Minute)},
			{SHA: "bbbbbbbbbb", Trigger: "api", Requester: "dev", Status: store.PromotionRefused, Reason: "- **soak**: 1h | remain\n- **freeze**: closed",
				StartedAt: at.Add(time.Hour), FinishedAt: at.Add(time.Hour)},
			{SHA: "aaaaaaaaaa", Trigger: "merge", Requester: "dev", Status: store.PromotionSuperseded, Reason: "superseded by bbbbbbbbbb"},
		}
		golden.Assert(t, filepath.Join("testdata", "history.md"), promotion.History("prod", ps, func(id string) string {
			if id == "" {
				return ""
			}
			return "https://bot.example/logs/" + id
		}))
		golden.Assert(t, filepath.Join("testdata", "history-empty.md"), promotion.History("prod", nil, func(string) string { return "" }))
	})
}
