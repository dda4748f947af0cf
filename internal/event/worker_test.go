package event_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

type recordingJobs struct {
	mu   sync.Mutex
	args []event.Args
}

func (r *recordingJobs) Insert(_ context.Context, a river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.args = append(r.args, a.(event.Args))
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

// storeDelivery records a delivery the way the webhook handler does.
func storeDelivery(t *testing.T, st *store.Store, id string, at time.Time) {
	t.Helper()
	tx, err := st.DB().BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertDeliveryTx(context.Background(), tx, store.Delivery{ID: id, Event: "pull_request", Action: "opened",
		InstallationID: 1, Repo: "acme/shop", Payload: []byte(`{}`), ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func work(w *event.Worker, id string) error {
	return w.Work(context.Background(), &river.Job[event.Args]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1},
		Args: event.Args{DeliveryID: id, Event: "pull_request", Repo: "acme/shop", InstallationID: 1}})
}

// A retry re-runs only the processors that failed: the ones that succeeded made their effects once.
func TestARetryRerunsOnlyTheProcessorsThatFailed(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, e.NewOptions(t))
			storeDelivery(t, st, "d1", time.Now())
			calls := map[string]int{}
			failOnce := true
			w := &event.Worker{Deliveries: st, Leases: st, Logger: slog.New(slog.DiscardHandler), Steps: map[string][]event.Step{
				"pull_request": {
					{Name: "first", Processor: event.ProcessorFunc(func(context.Context, event.Event) error { calls["first"]++; return nil })},
					{Name: "second", Processor: event.ProcessorFunc(func(context.Context, event.Event) error {
						calls["second"]++
						if failOnce {
							failOnce = false
							return errors.New("GitHub answered 502")
						}
						return nil
					})},
				}}}
			if err := work(w, "d1"); err != nil {
				t.Fatalf("a failure is recorded and retried later, not returned: %v", err)
			}
			p, err := st.DeliveryProgress(context.Background(), "d1")
			if err != nil || p.Done || !p.Steps["first"] || p.Steps["second"] {
				t.Fatalf("after the failure: %+v %v", p, err)
			}
			// The retry pause: nothing runs until it is over.
			if err := work(w, "d1"); err != nil || calls["second"] != 1 {
				t.Fatalf("worked during the retry pause: %v %v", calls, err)
			}
			waitFree(t, st, "delivery:d1")
			if err := work(w, "d1"); err != nil {
				t.Fatal(err)
			}
			if calls["first"] != 1 || calls["second"] != 2 {
				t.Fatalf("processor calls %v, want first once and second twice", calls)
			}
			if p, _ := st.DeliveryProgress(context.Background(), "d1"); !p.Done || p.Outcome != "done" {
				t.Fatalf("delivery not done: %+v", p)
			}
			if err := work(w, "d1"); err != nil || calls["first"] != 1 || calls["second"] != 2 {
				t.Fatalf("a finished delivery was processed again: %v %v", calls, err)
			}
		})
	}
}

// Resume hands a delivery whose worker died (its lease expired) to a new job, leaves a fresh one
// to the job queued with it and one being worked to its worker, and never repeats a kick while
// the first still waits.
func TestResumeQueuesDeliveriesNobodyWorksOn(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, e.NewOptions(t))
			ctx := context.Background()
			now := time.Now()
			storeDelivery(t, st, "orphan", now.Add(-time.Minute))
			storeDelivery(t, st, "busy", now.Add(-time.Minute))
			storeDelivery(t, st, "fresh", now)
			storeDelivery(t, st, "finished", now.Add(-time.Minute))
			if err := st.FinishDelivery(ctx, "finished", "done"); err != nil {
				t.Fatal(err)
			}
			if ok, err := st.TryAcquire(ctx, "delivery:busy", "live-worker", time.Minute); err != nil || !ok {
				t.Fatal(err)
			}
			// The orphan's worker was killed: its lease has expired.
			if ok, err := st.TryAcquire(ctx, "delivery:orphan", "dead-worker", time.Millisecond); err != nil || !ok {
				t.Fatal(err)
			}
			waitFree(t, st, "delivery:orphan")
			w := &event.Worker{Deliveries: st, Leases: st}
			q := &recordingJobs{}
			kicks := &lease.Kicks{}
			if err := w.Resume(ctx, q, kicks, now); err != nil {
				t.Fatal(err)
			}
			if len(q.args) != 1 || q.args[0].DeliveryID != "orphan" || q.args[0].Event != "pull_request" {
				t.Fatalf("resumed %+v, want the orphan only", q.args)
			}
			if err := w.Resume(ctx, q, kicks, now.Add(time.Second)); err != nil || len(q.args) != 1 {
				t.Fatalf("kicked again while the first kick waits: %+v %v", q.args, err)
			}
		})
	}
}

func waitFree(t *testing.T, tb lease.Table, key string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		free, err := lease.Free(context.Background(), tb, key)
		if err != nil {
			t.Fatal(err)
		}
		if free {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %s never went free", key)
		}
		time.Sleep(50 * time.Millisecond) // the lease's expiry is a real-time property
	}
}
