package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

func TestOperationLogRetention(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, e.NewOptions(t))
			ctx := context.Background()
			now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			save := func(finished time.Time) string {
				id, err := s.SaveLog(ctx, store.OperationLog{Stack: "pr-1", Kind: "up", Text: "x",
					Started: finished.Add(-time.Minute), Finished: finished, Succeeded: true})
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			old, fresh := save(now.Add(-31*24*time.Hour)), save(now.Add(-29*24*time.Hour))
			n, err := s.DeleteLogsBefore(ctx, now.Add(-30*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("deleted %d logs, want 1", n)
			}
			if _, err := s.Log(ctx, old); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the old log: err = %v, want ErrNotFound", err)
			}
			if _, err := s.Log(ctx, fresh); err != nil {
				t.Fatalf("the fresh log: %v", err)
			}
		})
	}
}
