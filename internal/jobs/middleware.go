package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/metrics"
)

// Observer is worker middleware that logs each job with its job_id, records its
// duration and result, and turns a panic into an error so it is retried and reported
// instead of killing the worker.
type Observer struct {
	river.WorkerMiddlewareDefaults
	// Logger receives one line per finished job.
	Logger *slog.Logger
	// Metrics receives job durations; optional.
	Metrics *metrics.Metrics
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Snooze recognises errors that ask to retry after a known time (a GitHub rate limit
	// that resets in an hour); such a job is snoozed until then instead of failing. Optional.
	Snooze func(error) (time.Duration, bool)
}

// Work implements rivertype.WorkerMiddleware.
func (o *Observer) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	log := o.Logger.With("job_id", job.ID, "job_kind", job.Kind, "attempt", job.Attempt)
	defer func() {
		if r := recover(); r != nil {
			log.Error("job panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("job %s panicked: %v", job.Kind, r)
		}
		if err != nil && o.Snooze != nil {
			if d, ok := o.Snooze(err); ok {
				log.Info("job snoozed until a rate limit resets", "error", err, "snooze", d)
				err = river.JobSnooze(d)
			}
		}
		result := resultOf(err)
		if o.Metrics != nil {
			o.Metrics.JobDuration.WithLabelValues(job.Kind, result).Observe(now().Sub(start).Seconds())
		}
		switch result {
		case "failed":
			log.Warn("job failed", "error", err, "duration", now().Sub(start))
		default:
			log.Info("job finished", "result", result, "duration", now().Sub(start))
		}
	}()
	return doInner(WithLogger(ctx, log))
}

func resultOf(err error) string {
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	switch {
	case err == nil:
		return "completed"
	case errors.As(err, &snooze):
		return "snoozed"
	case errors.As(err, &cancel), errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "failed"
}

type loggerKey struct{}

// WithLogger returns ctx carrying logger, for the job's own code.
func WithLogger(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, logger)
}

// Logger returns the job's logger (with job_id) from ctx, or fallback.
func Logger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return fallback
}
