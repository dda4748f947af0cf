package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
)

// CleanupArgs is the periodic job that removes deliveries older than the retention period and
// operation logs older than the log retention.
type CleanupArgs struct{}

// Kind implements river.JobArgs.
func (CleanupArgs) Kind() string { return "cleanup" }

// DeliveryCleaner deletes old deliveries, the records of which comment commands took effect, and
// operation logs.
type DeliveryCleaner interface {
	DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error)
	DeleteCommandStepsBefore(ctx context.Context, t time.Time) (int64, error)
	DeleteLogsBefore(ctx context.Context, t time.Time) (int64, error)
}

// CleanupWorker works CleanupArgs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	// Store is cleaned.
	Store DeliveryCleaner
	// Retention is how long deliveries and command records are kept; it must exceed GitHub's
	// redelivery window (3 days).
	Retention time.Duration
	// LogRetention is how long operation logs are kept. Default 0: they are not deleted.
	LogRetention time.Duration
	// Now is the clock.
	Now func() time.Time
}

// Work implements river.Worker.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	n, err := w.Store.DeleteDeliveriesBefore(ctx, w.Now().Add(-w.Retention))
	if err != nil {
		return err
	}
	log := Logger(ctx, slog.New(slog.DiscardHandler))
	log.Info("deleted old deliveries", "count", n)
	// A command's records live as long as its delivery: a redelivery within that time is
	// recognised by either.
	if n, err = w.Store.DeleteCommandStepsBefore(ctx, w.Now().Add(-w.Retention)); err != nil {
		return err
	}
	log.Info("deleted old command records", "count", n)
	if w.LogRetention <= 0 {
		return nil
	}
	n, err = w.Store.DeleteLogsBefore(ctx, w.Now().Add(-w.LogRetention))
	if err != nil {
		return err
	}
	log.Info("deleted old operation logs", "count", n)
	return nil
}

// CleanupJob is the periodic registration of CleanupArgs: hourly, and once at start.
func CleanupJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
