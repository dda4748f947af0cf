package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

type countArgs struct {
	N int `json:"n"`
}

func (countArgs) Kind() string { return "test_count" }

// counter records how often each job ran and signals when a total is reached.
type counter struct {
	river.WorkerDefaults[countArgs]
	mu    sync.Mutex
	runs  map[int]int
	total int
	want  int
	done  chan struct{}
	panic bool
}

func newCounter(want int) *counter {
	return &counter{runs: map[int]int{}, want: want, done: make(chan struct{})}
}

func (c *counter) Work(ctx context.Context, job *river.Job[countArgs]) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.panic && c.runs[job.Args.N] == 0 && job.Attempt == 1 {
		c.runs[-1]++ // remembers that the panic happened
		panic("boom")
	}
	c.runs[job.Args.N]++
	c.total++
	if c.total == c.want {
		close(c.done)
	}
	return nil
}

func (c *counter) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("timed out: %d of %d jobs ran", c.total, c.want)
	}
}

func (c *counter) assertOnce(t *testing.T, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range n {
		if c.runs[i] != 1 {
			t.Errorf("job %d ran %d times, want 1", i, c.runs[i])
		}
	}
}

func newQueue(t *testing.T, st *store.Store, c *counter, id string) *jobs.Queue {
	t.Helper()
	w := river.NewWorkers()
	river.AddWorker(w, c)
	ins, err := jobs.NewInserter(st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ins, w, jobs.Config{Workers: 4, PollInterval: 100 * time.Millisecond, ID: id,
		Middleware: []rivertype.Middleware{&jobs.Observer{Logger: slog.New(slog.DiscardHandler)}}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestQueue(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("jobs queued before a restart run once after it", func(t *testing.T) {
				t.Parallel()
				o := e.NewOptions(t)
				ctx := context.Background()
				st := storetest.Open(t, o)
				first := newCounter(0)
				q1 := newQueue(t, st, first, "first")
				for i := range 10 {
					if _, err := q1.Insert(ctx, countArgs{N: i}, nil); err != nil {
						t.Fatal(err)
					}
				}
				st.Close() // the process dies before working anything

				st2 := storetest.Open(t, o)
				second := newCounter(10)
				q2 := newQueue(t, st2, second, "second")
				if err := q2.Start(ctx); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { q2.Stop(context.Background()) })
				second.wait(t)
				second.assertOnce(t, 10)
			})

			t.Run("a redelivered delivery enqueues nothing", func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				st := storetest.Open(t, e.NewOptions(t))
				q := newQueue(t, st, newCounter(0), "")
				d := store.Delivery{ID: "abc", Event: "push", Payload: []byte(`{}`)}
				for i, want := range []bool{true, false} {
					got, err := q.EnqueueDelivery(ctx, d, countArgs{N: 1})
					if err != nil {
						t.Fatal(err)
					}
					if got != want {
						t.Fatalf("enqueue %d: %v, want %v", i, got, want)
					}
				}
				depth, err := q.Depth(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if depth["available"] != 1 {
					t.Fatalf("depth = %v, want one available job", depth)
				}
			})

			t.Run("a panicking job is retried, not lost", func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				st := storetest.Open(t, e.NewOptions(t))
				c := newCounter(1)
				c.panic = true
				q := newQueue(t, st, c, "")
				if err := q.Start(ctx); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { q.Stop(context.Background()) })
				if _, err := q.Insert(ctx, countArgs{N: 0}, nil); err != nil {
					t.Fatal(err)
				}
				c.wait(t)
				c.mu.Lock()
				defer c.mu.Unlock()
				if c.runs[-1] != 1 || c.runs[0] != 1 {
					t.Fatalf("runs = %v, want one panic then one success", c.runs)
				}
			})
		})
	}
}

func TestQueueReplicas(t *testing.T) {
	t.Parallel()
	t.Run("two replicas on one Postgres work each job once", func(t *testing.T) {
		t.Parallel()
		o := storetest.Postgres(t)
		ctx := context.Background()
		const n = 60
		c := newCounter(n) // shared: counts runs across both replicas
		var queues []*jobs.Queue
		for i := range 2 {
			st := storetest.Open(t, o)
			q := newQueue(t, st, c, fmt.Sprintf("replica-%d", i))
			queues = append(queues, q)
		}
		for i := range n {
			if _, err := queues[i%2].Insert(ctx, countArgs{N: i}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range queues {
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { q.Stop(context.Background()) })
		}
		c.wait(t)
		c.assertOnce(t, n)
	})
}

type blockArgs struct {
	Key string `json:"key"`
}

func (blockArgs) Kind() string { return "test_block" }

// InsertOpts makes a job unique per key while it is waiting or running.
func (blockArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// blocker runs until its context is cancelled and reports that it was.
type blocker struct {
	river.WorkerDefaults[blockArgs]
	started   chan int64
	cancelled chan int64
}

func (b *blocker) Work(ctx context.Context, job *river.Job[blockArgs]) error {
	b.started <- job.ID
	<-ctx.Done()
	b.cancelled <- job.ID
	return ctx.Err()
}

func TestQueueCancelAndUnique(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, e.NewOptions(t))
			b := &blocker{started: make(chan int64, 1), cancelled: make(chan int64, 1)}
			w := river.NewWorkers()
			river.AddWorker(w, b)
			ins, err := jobs.NewInserter(st, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			q, err := jobs.New(ins, w, jobs.Config{Workers: 2, PollInterval: 100 * time.Millisecond}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}

			t.Run("a unique job is inserted once", func(t *testing.T) {
				first, err := q.Insert(ctx, blockArgs{Key: "pr-1"}, nil)
				if err != nil {
					t.Fatal(err)
				}
				second, err := q.Insert(ctx, blockArgs{Key: "pr-1"}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !second.UniqueSkippedAsDuplicate || second.Job.ID != first.Job.ID {
					t.Fatalf("second insert made job %d (skipped=%v), want the first job %d", second.Job.ID, second.UniqueSkippedAsDuplicate, first.Job.ID)
				}
			})

			t.Run("cancelling a running job cancels its context", func(t *testing.T) {
				if err := q.Start(ctx); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { q.Stop(context.Background()) })
				id := <-b.started
				if err := q.Cancel(ctx, id); err != nil {
					t.Fatal(err)
				}
				select {
				case got := <-b.cancelled:
					if got != id {
						t.Fatalf("job %d cancelled, want %d", got, id)
					}
				case <-time.After(30 * time.Second):
					t.Fatal("the running job was not cancelled")
				}
			})
		})
	}
}
