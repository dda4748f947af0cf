// Package jobs runs every piece of stagecoach's work as a durable River job, on
// SQLite or Postgres. A job survives restarts, is retried with backoff, can be
// cancelled, and is unique where it must not run twice. With several replicas on
// one Postgres each job is worked by exactly one of them.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/store"
)

// Config configures the queue.
type Config struct {
	// Workers is how many jobs this replica works at once. Default 8.
	Workers int
	// Retention is how long completed, cancelled and discarded jobs are kept. Default 168h.
	Retention time.Duration
	// PollInterval is how often idle workers look for new jobs when no notification
	// arrives (SQLite always polls). Default 1s; at least 100ms.
	PollInterval time.Duration
	// PeriodicJobs run on the elected leader only.
	PeriodicJobs []*river.PeriodicJob
	// Middleware wraps every job (metrics, logging).
	Middleware []rivertype.Middleware
	// ID names this replica in River's tables. Default: River picks one.
	ID string
	// JobTimeout bounds a job that does not set its own Timeout. Jobs that run Pulumi set none
	// (an operation has its own timeout); the rest talk to GitHub and the store. Default 15m.
	JobTimeout time.Duration
	// Resume are the sweeps that hand work nobody is doing (a crashed replica's, a retry whose pause
	// is over, a change no job was queued for) to new jobs. Every replica runs them at start and every
	// ResumeInterval; they read the store only. Optional.
	Resume []func(ctx context.Context, now time.Time) error
	// ResumeInterval is how often Resume runs. Default 5s.
	ResumeInterval time.Duration
	// Now is the clock given to Resume. Default time.Now.
	Now func() time.Time
}

// worker is the part of a River client the queue drives; its transaction type differs
// between the pgx and database/sql drivers, so it is held behind this interface.
type worker interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Inserter enqueues jobs. It is a database/sql River client on both engines, so a job can be
// inserted in the same transaction as the store's own rows, and it exists before the workers
// do: features get it at construction and register their workers afterwards.
type Inserter struct {
	client *river.Client[*sql.Tx]
	store  *store.Store
}

// NewInserter returns an insert-only client over st.
func NewInserter(st *store.Store, logger *slog.Logger) (*Inserter, error) {
	var driver riverdriverSQL
	if st.Dialect() == store.Postgres {
		driver = riverdatabasesql.New(st.DB())
	} else {
		driver = riversqlite.New(st.DB())
	}
	c, err := river.NewClient(driver, &river.Config{Logger: logger.With("component", "river")})
	if err != nil {
		return nil, fmt.Errorf("creating the job inserter: %w", err)
	}
	return &Inserter{client: c, store: st}, nil
}

// riverdriverSQL is a River driver over database/sql.
type riverdriverSQL = riverdriver.Driver[*sql.Tx]

// Queue inserts jobs and works them.
type Queue struct {
	*Inserter
	worker  worker
	logger  *slog.Logger
	running atomic.Bool
	cfg     Config

	stopResume func()
	resumeDone chan struct{}
}

// New builds a queue that works the jobs registered in workers; ins inserts them.
func New(ins *Inserter, workers *river.Workers, cfg Config, logger *slog.Logger) (*Queue, error) {
	st := ins.store
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = 15 * time.Minute
	}
	if cfg.ResumeInterval <= 0 {
		cfg.ResumeInterval = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rc := &river.Config{
		ID:                          cfg.ID,
		Logger:                      logger.With("component", "river"),
		Queues:                      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:                     workers,
		PeriodicJobs:                cfg.PeriodicJobs,
		Middleware:                  cfg.Middleware,
		CompletedJobRetentionPeriod: cfg.Retention,
		CancelledJobRetentionPeriod: cfg.Retention,
		DiscardedJobRetentionPeriod: cfg.Retention,
		FetchPollInterval:           cfg.PollInterval,
		MaxAttempts:                 25,
		JobTimeout:                  cfg.JobTimeout,
	}
	q := &Queue{Inserter: ins, logger: logger, cfg: cfg}
	var err error
	if st.Dialect() == store.Postgres {
		q.worker, err = river.NewClient(riverpgxv5.New(st.Pool()), rc)
	} else {
		rc.PollOnly = true
		q.worker, err = river.NewClient(riversqlite.New(st.DB()), rc)
	}
	if err != nil {
		return nil, fmt.Errorf("creating the job worker: %w", err)
	}
	return q, nil
}

// Start begins working jobs. It returns once the workers run.
func (q *Queue) Start(ctx context.Context) error {
	if err := q.worker.Start(ctx); err != nil {
		return fmt.Errorf("starting job workers: %w", err)
	}
	q.running.Store(true)
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.stopResume, q.resumeDone = cancel, make(chan struct{})
	go q.resumeLoop(rctx)
	return nil
}

// resumeLoop runs the Resume sweeps at start and every ResumeInterval until stopped.
func (q *Queue) resumeLoop(ctx context.Context) {
	defer close(q.resumeDone)
	t := time.NewTicker(q.cfg.ResumeInterval)
	defer t.Stop()
	for {
		for _, r := range q.cfg.Resume {
			q.resumeOnce(ctx, r)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (q *Queue) resumeOnce(ctx context.Context, r func(context.Context, time.Time) error) {
	defer func() {
		if p := recover(); p != nil {
			q.logger.Error("a resume sweep panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	if err := r(ctx, q.cfg.Now()); err != nil && ctx.Err() == nil {
		q.logger.Warn("a resume sweep failed; it runs again shortly", "error", err)
	}
}

// Stop lets running jobs finish until ctx ends, then cancels them; they are retried
// later by this or another replica. Nothing queued is lost.
func (q *Queue) Stop(ctx context.Context) error {
	defer q.running.Store(false)
	if q.stopResume != nil {
		q.stopResume()
		<-q.resumeDone
		q.stopResume = nil
	}
	err := q.worker.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		err = q.worker.StopAndCancel(hard)
	}
	if err != nil {
		return fmt.Errorf("stopping job workers: %w", err)
	}
	return nil
}

// Running reports whether the workers have started and not stopped.
func (q *Queue) Running() bool { return q.running.Load() }

// Insert enqueues one job.
func (q *Inserter) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := q.client.Insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("enqueueing %s: %w", args.Kind(), err)
	}
	return res, nil
}

// EnqueueDelivery records the delivery and enqueues its job in one transaction. It reports
// false, and enqueues nothing, when the delivery was seen before (a redelivery).
func (q *Inserter) EnqueueDelivery(ctx context.Context, d store.Delivery, args river.JobArgs) (bool, error) {
	tx, err := q.store.DB().BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("enqueueing delivery %s: %w", d.ID, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	fresh, err := q.store.InsertDeliveryTx(ctx, tx, d)
	if err != nil || !fresh {
		return false, err
	}
	if _, err := q.client.InsertTx(ctx, tx, args, nil); err != nil {
		return false, fmt.Errorf("enqueueing delivery %s: %w", d.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("enqueueing delivery %s: %w", d.ID, err)
	}
	return true, nil
}

// Cancel cancels a job: a running one gets its context cancelled, a waiting one never runs.
func (q *Queue) Cancel(ctx context.Context, jobID int64) error {
	if _, err := q.worker.JobCancel(ctx, jobID); err != nil {
		return fmt.Errorf("cancelling job %d: %w", jobID, err)
	}
	return nil
}

// Subscribe delivers job events (completed, failed, …) until the returned func is called.
func (q *Queue) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return q.worker.Subscribe(kinds...)
}

// Depth counts unfinished jobs per state.
func (q *Inserter) Depth(ctx context.Context) (map[string]int, error) {
	rows, err := q.store.DB().QueryContext(ctx, `SELECT state, COUNT(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("counting queued jobs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("counting queued jobs: %w", err)
		}
		out[state] = n
	}
	return out, rows.Err()
}
