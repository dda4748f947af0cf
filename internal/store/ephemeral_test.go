package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

func TestPREnvironments(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			open := func(t *testing.T) *store.Store { return storetest.Open(t, e.NewOptions(t)) }
			want := func(t *testing.T, s *store.Store, pr int) {
				t.Helper()
				init := &store.PREnvironment{InstallationID: 7, Stack: "pr-x", Slot: -1}
				if _, err := s.UpdatePREnvironment(ctx, "o/r", pr, init, func(e *store.PREnvironment) error {
					e.Want, e.HeadSHA, e.HeadSeq = store.WantDeploy, "abc", 1
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}

			t.Run("an environment is created once and updated in place", func(t *testing.T) {
				t.Parallel()
				s := open(t)
				if _, err := s.PREnvironment(ctx, "o/r", 1); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("missing environment: %v", err)
				}
				if _, err := s.UpdatePREnvironment(ctx, "o/r", 1, nil, func(*store.PREnvironment) error { return nil }); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("update without init: %v", err)
				}
				want(t, s, 1)
				got, err := s.UpdatePREnvironment(ctx, "o/r", 1, nil, func(e *store.PREnvironment) error {
					e.CommentID, e.DeployedSHA, e.DeployedSeq = 42, "abc", 1
					return nil
				})
				if err != nil || got.CommentID != 42 || got.InstallationID != 7 || got.Status != store.PRIdle || got.Want != store.WantDeploy {
					t.Fatalf("updated = %+v, %v", got, err)
				}
				back, err := s.PREnvironment(ctx, "o/r", 1)
				if err != nil || back.CommentID != 42 || back.DeployedSeq != 1 || back.Slot != -1 {
					t.Fatalf("read back = %+v, %v", back, err)
				}
			})

			t.Run("a failed first deploy keeps its slot number but does not count against max_active", func(t *testing.T) {
				t.Parallel()
				s := open(t)
				for pr := 1; pr <= 3; pr++ {
					want(t, s, pr)
				}
				for pr := 1; pr <= 2; pr++ {
					if slot, _, err := s.ClaimSlot(ctx, "o/r", pr, 2, ""); err != nil || slot < 0 {
						t.Fatalf("claim %d: %d %v", pr, slot, err)
					}
					if _, err := s.UpdatePREnvironment(ctx, "o/r", pr, nil, func(e *store.PREnvironment) error {
						e.Status, e.FailedSeq = store.PRFailed, 1
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				}
				slot, _, err := s.ClaimSlot(ctx, "o/r", 3, 2, "")
				if err != nil || slot != 2 {
					t.Fatalf("two failed PRs queued the third: slot %d, %v (want 2, the first number nobody reserves)", slot, err)
				}
			})

			t.Run("the time the head was first seen is recorded", func(t *testing.T) {
				t.Parallel()
				s := open(t)
				want(t, s, 1)
				first, _ := s.PREnvironment(ctx, "o/r", 1)
				if first.HeadAt.IsZero() {
					t.Fatal("no head time")
				}
				same, _ := s.UpdatePREnvironment(ctx, "o/r", 1, nil, func(e *store.PREnvironment) error { e.Summary = "x"; return nil })
				if !same.HeadAt.Equal(first.HeadAt) {
					t.Fatalf("head time moved without a new head: %v → %v", first.HeadAt, same.HeadAt)
				}
			})

			t.Run("slots are unique, limited, queued in order and reused after teardown", func(t *testing.T) {
				t.Parallel()
				s := open(t)
				for pr := 1; pr <= 4; pr++ {
					want(t, s, pr)
				}
				for pr, wantSlot := range map[int]int{1: 0, 2: 1} {
					if slot, _, err := s.ClaimSlot(ctx, "o/r", pr, 2, ""); err != nil || slot != wantSlot && slot != 1-wantSlot {
						t.Fatalf("claim %d: %d, %v", pr, slot, err)
					}
				}
				for _, c := range []struct{ pr, pos int }{{3, 1}, {4, 2}} { // in order: PR 3 waits first
					slot, pos, err := s.ClaimSlot(ctx, "o/r", c.pr, 2, "")
					if err != nil || slot != -1 || pos != c.pos {
						t.Fatalf("claim %d at the limit: slot %d position %d, %v", c.pr, slot, pos, err)
					}
				}
				active, err := s.ActivePREnvironments(ctx, "o/r")
				if err != nil || len(active) != 2 {
					t.Fatalf("active = %+v, %v", active, err)
				}
				waiting, err := s.WaitingPREnvironments(ctx, "o/r")
				if err != nil || len(waiting) != 2 || waiting[0].PR != 3 {
					t.Fatalf("waiting = %+v, %v", waiting, err)
				}
				freed := active[0].Slot
				if _, err := s.UpdatePREnvironment(ctx, "o/r", active[0].PR, nil, func(e *store.PREnvironment) error {
					e.Slot, e.Want = -1, store.WantNothing
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if slot, _, err := s.ClaimSlot(ctx, "o/r", 4, 2, ""); err != nil || slot != -1 {
					t.Fatalf("PR 4 jumped the queue: %d, %v", slot, err)
				}
				if slot, _, err := s.ClaimSlot(ctx, "o/r", 3, 2, ""); err != nil || slot != freed {
					t.Fatalf("PR 3 got slot %d, want the freed %d (%v)", slot, freed, err)
				}
			})
		})
	}
}

func TestClaimSlotConcurrently(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, e.NewOptions(t))
			ctx := context.Background()
			const n = 8
			for pr := 1; pr <= n; pr++ {
				if _, err := s.UpdatePREnvironment(ctx, "o/r", pr, &store.PREnvironment{Slot: -1}, func(e *store.PREnvironment) error {
					e.InstallationID, e.Stack, e.Want = 7, fmt.Sprintf("pr-%d", pr), store.WantDeploy
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			slots := make(chan int, n)
			var wg sync.WaitGroup
			for pr := 1; pr <= n; pr++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					slot, _, err := s.ClaimSlot(ctx, "o/r", pr, n, "")
					if err != nil {
						t.Errorf("claim %d: %v", pr, err)
					}
					slots <- slot
				}()
			}
			wg.Wait()
			close(slots)
			seen := map[int]bool{}
			for slot := range slots {
				if slot < 0 || seen[slot] {
					t.Fatalf("slot %d given twice or not at all", slot)
				}
				seen[slot] = true
			}
		})
	}
}

// Repositories whose PR stacks share a cloud account share a slot pool: a slot selects an address
// block, so two of them must never hold the same one at once, even when they claim concurrently.
// A repository outside the pool numbers its slots on its own.
func TestSlotPoolsAreSharedAcrossRepositories(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, e.NewOptions(t))
			ctx := context.Background()
			const n = 6
			repos := []string{"acme/shop", "acme/search"}
			for _, repo := range append(slices.Clone(repos), "acme/other") {
				for pr := 1; pr <= n; pr++ {
					if _, err := s.UpdatePREnvironment(ctx, repo, pr, &store.PREnvironment{Slot: -1}, func(e *store.PREnvironment) error {
						e.InstallationID, e.Stack, e.Want = 7, fmt.Sprintf("pr-%d", pr), store.WantDeploy
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				}
			}
			type claim struct {
				repo     string
				pr, slot int
			}
			claims := make(chan claim, 2*n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, repo := range repos {
				for pr := 1; pr <= n; pr++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						slot, _, err := s.ClaimSlot(ctx, repo, pr, n, "aws-dev-account")
						if err != nil {
							t.Errorf("claim %s#%d: %v", repo, pr, err)
						}
						claims <- claim{repo, pr, slot}
					}()
				}
			}
			close(start)
			wg.Wait()
			close(claims)
			holder := map[int]string{}
			for c := range claims {
				who := fmt.Sprintf("%s#%d", c.repo, c.pr)
				if c.slot < 0 {
					t.Errorf("%s got no slot: the pool has 256 and max_active is %d per repository", who, n)
				} else if prev, taken := holder[c.slot]; taken {
					t.Errorf("slot %d given to both %s and %s, which share one account", c.slot, prev, who)
				}
				holder[c.slot] = who
			}
			if slot, _, err := s.ClaimSlot(ctx, "acme/other", 1, n, ""); err != nil || slot != 0 {
				t.Errorf("a repository with its own pool: slot %d, %v; want 0", slot, err)
			}
		})
	}
}
