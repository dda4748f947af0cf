package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
)

// CleanupArgs is the periodic job that removes deliveries older than the retention period.
type CleanupArgs struct{}

// Kind implements river.JobArgs.
func (CleanupArgs) Kind() string { return "cleanup" }

// DeliveryCleaner deletes old deliveries.
type DeliveryCleaner interface {
	DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error)
}

// CleanupWorker works CleanupArgs.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	// Store is cleaned.
	Store DeliveryCleaner
	// Retention is how long deliveries are kept; it must exceed GitHub's redelivery window (3 days).
	Retention time.Duration
	// Now is the clock.
	Now func() time.Time
}

// Work implements river.Worker.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	n, err := w.Store.DeleteDeliveriesBefore(ctx, w.Now().Add(-w.Retention))
	if err != nil {
		return err
	}
	Logger(ctx, slog.New(slog.DiscardHandler)).Info("deleted old deliveries", "count", n)
	return nil
}

// CleanupJob is the periodic registration of CleanupArgs: hourly, and once at start.
func CleanupJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
