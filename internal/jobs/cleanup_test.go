package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

func TestCleanupDeletesOldLogs(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, e.NewOptions(t))
			ctx := context.Background()
			now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			save := func(age time.Duration) string {
				id, err := st.SaveLog(ctx, store.OperationLog{Stack: "dev", Kind: "up", Text: "x",
					Started: now.Add(-age - time.Minute), Finished: now.Add(-age), Succeeded: true})
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			old, fresh := save(721*time.Hour), save(719*time.Hour)
			w := &jobs.CleanupWorker{Store: st, Retention: 168 * time.Hour, LogRetention: 720 * time.Hour, Now: func() time.Time { return now }}
			if err := w.Work(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Log(ctx, old); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a log past STAGECOACH_LOG_RETENTION survived the cleanup: err = %v", err)
			}
			if _, err := st.Log(ctx, fresh); err != nil {
				t.Fatalf("a log within the retention was deleted: %v", err)
			}
		})
	}
}
