package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

func TestPromotions(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			open := func(t *testing.T) (*store.Store, *clock) {
				c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
				o := e.NewOptions(t)
				o.Now = c.Now
				return storetest.Open(t, o), c
			}
			ctx := context.Background()

			t.Run("a promotion is queued once, finished once and then never changes", func(t *testing.T) {
				t.Parallel()
				s, c := open(t)
				p := store.Promotion{ID: "d1:dev", Repo: "o/r", InstallationID: 3, Environment: "dev", Stack: "dev", SHA: "abc",
					Trigger: "merge", Requester: "mia", PR: 4}
				for i, want := range []bool{true, false} {
					if fresh, err := s.InsertPromotion(ctx, p); err != nil || fresh != want {
						t.Fatalf("insert %d: %v, %v; want %v", i, fresh, err, want)
					}
				}
				q, err := s.QueuedPromotions(ctx, "o/r", "dev")
				if err != nil || len(q) != 1 || q[0].Status != store.PromotionQueued || !q[0].RequestedAt.Equal(c.Now()) {
					t.Fatalf("queued = %+v, %v", q, err)
				}
				p = q[0]
				c.Advance(time.Minute)
				p.Status, p.StartedAt, p.FinishedAt, p.Approvers, p.LogID = store.PromotionSucceeded, c.Now(), c.Now(), []string{"sam", "carol"}, "log-1"
				if err := s.UpdatePromotion(ctx, p); err != nil {
					t.Fatal(err)
				}
				p.Status = store.PromotionFailed
				if err := s.UpdatePromotion(ctx, p); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("updating a finished record: %v, want ErrNotFound", err)
				}
				got, err := s.PromotionByID(ctx, "d1:dev")
				if err != nil || got.Status != store.PromotionSucceeded || len(got.Approvers) != 2 || got.LogID != "log-1" || got.PR != 4 {
					t.Fatalf("record = %+v, %v", got, err)
				}
			})

			t.Run("the current deployment is the latest success, also within one millisecond and after a reopen", func(t *testing.T) {
				t.Parallel()
				o := e.NewOptions(t)
				c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
				o.Now = c.Now
				s := storetest.Open(t, o)
				if _, _, err := s.CurrentDeployment(ctx, "o/r", "dev"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("nothing deployed: %v", err)
				}
				// The clock stands still: order comes from the store's sequence numbers.
				for _, r := range []struct{ id, sha, status string }{{"z", "a", store.PromotionSucceeded}, {"y", "b", store.PromotionSucceeded}, {"x", "c", store.PromotionFailed}} {
					p := store.Promotion{ID: r.id, Repo: "o/r", Environment: "dev", SHA: r.sha}
					if _, err := s.InsertPromotion(ctx, p); err != nil {
						t.Fatal(err)
					}
					p.Status, p.StartedAt, p.FinishedAt = r.status, c.Now(), c.Now()
					if err := s.UpdatePromotion(ctx, p); err != nil {
						t.Fatal(err)
					}
				}
				s2 := storetest.Open(t, o)
				sha, at, err := s2.CurrentDeployment(ctx, "o/r", "dev")
				if err != nil || sha != "b" || !at.Equal(c.Now()) {
					t.Fatalf("current = %s at %v, %v; want b", sha, at, err)
				}
				first, err := s2.FirstSuccess(ctx, "o/r", "a")
				if err != nil || len(first) != 1 || first["dev"].IsZero() {
					t.Fatalf("first success = %v, %v", first, err)
				}
				h, err := s2.PromotionHistory(ctx, "o/r", "dev", 2)
				if err != nil || len(h) != 2 || h[0].SHA != "c" || h[1].SHA != "b" {
					t.Fatalf("history = %+v, %v", h, err)
				}
			})

			t.Run("approvals bind to one commit and count each approver once", func(t *testing.T) {
				t.Parallel()
				s, _ := open(t)
				for _, a := range []struct{ sha, who string }{{"a", "sam"}, {"a", "sam"}, {"a", "carol"}, {"b", "dave"}} {
					if err := s.AddApproval(ctx, "o/r", "Prod", a.sha, a.who); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.Approvals(ctx, "o/r", "prod", "a")
				if err != nil || len(got) != 2 {
					t.Fatalf("approvals = %+v, %v", got, err)
				}
			})

			t.Run("environments with queued promotions are listed for the sweep", func(t *testing.T) {
				t.Parallel()
				s, _ := open(t)
				for _, id := range []string{"x", "y"} {
					if _, err := s.InsertPromotion(ctx, store.Promotion{ID: id, Repo: "o/r", InstallationID: 9, Environment: "staging", SHA: id}); err != nil {
						t.Fatal(err)
					}
				}
				got, err := s.QueuedEnvironments(ctx)
				if err != nil || len(got) != 1 || got[0].Environment != "staging" || got[0].InstallationID != 9 {
					t.Fatalf("queued environments = %+v, %v", got, err)
				}
			})
		})
	}
}
