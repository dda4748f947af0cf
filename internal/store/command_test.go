package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

func TestCommandSteps(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
			o := e.NewOptions(t)
			o.Now = c.Now
			s := storetest.Open(t, o)
			ctx := context.Background()

			if _, err := s.CommandStep(ctx, "o/r", 7, "reply"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a step never started: %v, want ErrNotFound", err)
			}
			if err := s.StartCommandStep(ctx, "o/r", 7, "reply"); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Minute)
			if err := s.StartCommandStep(ctx, "o/r", 7, "reply"); err != nil { // a retry starts it again
				t.Fatal(err)
			}
			if st, err := s.CommandStep(ctx, "o/r", 7, "reply"); err != nil || st.State != store.StepStarted || !st.UpdatedAt.Equal(c.Now()) {
				t.Fatalf("started step = %+v, %v", st, err)
			}
			for _, result := range []string{"first", "second"} {
				if err := s.FinishCommandStep(ctx, "o/r", 7, "reply", result); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.StartCommandStep(ctx, "o/r", 7, "reply"); err != nil {
				t.Fatal(err)
			}
			if st, err := s.CommandStep(ctx, "o/r", 7, "reply"); err != nil || st.State != store.StepDone || st.Result != "first" {
				t.Fatalf("a done step must stay done with its first result: %+v, %v", st, err)
			}
			// Steps are per repository, comment and name.
			for _, k := range []struct {
				repo string
				id   int64
				step string
			}{{"o/other", 7, "reply"}, {"o/r", 8, "reply"}, {"o/r", 7, "apply"}} {
				if _, err := s.CommandStep(ctx, k.repo, k.id, k.step); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("%+v: %v, want ErrNotFound", k, err)
				}
			}
			c.Advance(time.Minute)
			if err := s.FinishCommandStep(ctx, "o/r", 8, "apply", ""); err != nil {
				t.Fatal(err)
			}
			if n, err := s.DeleteCommandStepsBefore(ctx, c.Now()); err != nil || n != 1 {
				t.Fatalf("deleted %d, %v; want the one older step", n, err)
			}
			if _, err := s.CommandStep(ctx, "o/r", 8, "apply"); err != nil {
				t.Fatalf("the newer step went too: %v", err)
			}
		})
	}
}
