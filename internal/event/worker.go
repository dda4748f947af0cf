// Package event carries one stored GitHub webhook delivery from the durable queue
// to the feature packages that act on it. The webhook handler enqueues an Args job
// per delivery; the Worker loads the payload and hands it to each Processor
// registered for that event, in the order the wiring lists them.
package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Args is the job enqueued for each delivery the bot acts on. The payload stays in the
// store; the job row carries only what logs and queries need.
type Args struct {
	// DeliveryID is GitHub's X-GitHub-Delivery.
	DeliveryID string `json:"delivery_id"`
	// Event is X-GitHub-Event.
	Event string `json:"event"`
	// Action is the payload's action, if any.
	Action string `json:"action,omitempty"`
	// InstallationID is the App installation.
	InstallationID int64 `json:"installation_id"`
	// Repo is "owner/name".
	Repo string `json:"repo"`
	// PR is the pull request number, when the event concerns one.
	PR int `json:"pr,omitempty"`
}

// Kind implements river.JobArgs.
func (Args) Kind() string { return "github_event" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// Event is a delivery handed to processors.
type Event struct {
	Args
	// Payload is the raw webhook JSON.
	Payload []byte
}

// Processor acts on events of the kinds it is registered for. Each processor's completion of a
// delivery is recorded, so a retry re-runs only the processors that failed; a processor may still
// run twice after a crash between its effect and that record, so it must be idempotent (most only
// record what is wanted and queue their own job).
type Processor interface {
	Process(ctx context.Context, e Event) error
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(ctx context.Context, e Event) error

// Process implements Processor.
func (f ProcessorFunc) Process(ctx context.Context, e Event) error { return f(ctx, e) }

// Step is a named processor: the name records its completion of each delivery, so it must not
// change between releases.
type Step struct {
	Name string
	Processor
}

// Deliveries reads stored deliveries, records their progress and remembers which repositories
// send them; *store.Store satisfies it.
type Deliveries interface {
	Delivery(ctx context.Context, id string) (store.Delivery, error)
	DeliveryProgress(ctx context.Context, id string) (store.DeliveryProgress, error)
	FinishDeliveryStep(ctx context.Context, id, step string) error
	FinishDelivery(ctx context.Context, id, outcome string) error
	OpenDeliveries(ctx context.Context, before time.Time, limit int) ([]store.Delivery, error)
	TouchRepository(ctx context.Context, repo string, installation int64) error
}

// MaxFailures is how many failures in a row of one delivery's processors the bot retries before
// it gives up on the delivery (about an hour and a half of pauses).
const MaxFailures = 12

// Worker works Args jobs.
type Worker struct {
	river.WorkerDefaults[Args]
	// Deliveries is where payloads and progress are read from.
	Deliveries Deliveries
	// Leases keep one worker on a delivery at a time, across replicas.
	Leases lease.Table
	// Steps lists, per event name, who acts on it, in order.
	Steps map[string][]Step
	// Logger is used when the job context carries none.
	Logger *slog.Logger
}

// Work implements river.Worker. A failure is recorded and retried by Resume after a pause that
// grows with each failure; the job itself is not retried by the queue.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	a := job.Args
	log := jobs.Logger(ctx, w.Logger).With("delivery_id", a.DeliveryID, "installation_id", a.InstallationID,
		"repo", a.Repo, "event", a.Event, "action", a.Action)
	if a.PR != 0 {
		log = log.With("pr", a.PR)
	}
	ctx = jobs.WithLogger(ctx, log)
	err := lease.Converge(ctx, w.Leases, lease.Subject{
		Key: "delivery:" + a.DeliveryID, Logger: log,
		Pending: func(ctx context.Context) (bool, error) {
			p, err := w.Deliveries.DeliveryProgress(ctx, a.DeliveryID)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return !p.Done, err
		},
		Work: func(ctx context.Context) error { return w.process(ctx, a, log) },
	})
	if err != nil && ctx.Err() == nil {
		log.Warn("processing a delivery failed; it is retried after a pause", "error", err)
		if n := w.failures(ctx, a.DeliveryID); n >= MaxFailures {
			log.Error("giving up on a delivery after repeated failures", "failures", n, "error", err)
			return w.Deliveries.FinishDelivery(context.WithoutCancel(ctx), a.DeliveryID, "gave up: "+err.Error())
		}
		return nil
	}
	return err
}

// failures reads how many times in a row the delivery failed, from its parked lease.
func (w *Worker) failures(ctx context.Context, id string) int {
	holder, _, err := w.Leases.LeaseHolder(ctx, "delivery:"+id)
	if err != nil {
		return 0
	}
	return lease.Failures(holder)
}

// process runs the delivery's processors that have not finished yet, recording each that does.
func (w *Worker) process(ctx context.Context, a Args, log *slog.Logger) error {
	d, err := w.Deliveries.Delivery(ctx, a.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		// Deliveries outlive their jobs' retention; a missing one was cleaned up and cannot be acted on.
		log.Warn("delivery no longer stored; nothing to do")
		return nil
	}
	if err != nil {
		return err
	}
	progress, err := w.Deliveries.DeliveryProgress(ctx, a.DeliveryID)
	if err != nil || progress.Done {
		return err
	}
	if err := w.Deliveries.TouchRepository(ctx, a.Repo, a.InstallationID); err != nil {
		return err
	}
	e := Event{Args: a, Payload: d.Payload}
	var errs []error
	for _, s := range w.Steps[a.Event] {
		if progress.Steps[s.Name] {
			continue
		}
		if err := s.Process(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
			continue
		}
		if err := w.Deliveries.FinishDeliveryStep(ctx, a.DeliveryID, s.Name); err != nil {
			return err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("processing %s delivery %s: %w", a.Event, a.DeliveryID, err)
	}
	return w.Deliveries.FinishDelivery(ctx, a.DeliveryID, "done")
}

// Resume queues a job for every delivery that is not done, was received more than a grace period
// ago and has nobody working on it: one whose worker crashed, or whose retry pause is over.
func (w *Worker) Resume(ctx context.Context, q Inserter, kicks *lease.Kicks, now time.Time) error {
	open, err := w.Deliveries.OpenDeliveries(ctx, now.Add(-resumeGrace), 500)
	if err != nil {
		return err
	}
	for _, d := range open {
		key := "delivery:" + d.ID
		free, err := lease.Free(ctx, w.Leases, key)
		if err != nil {
			return err
		}
		if !free || !kicks.Due(key, now) {
			continue
		}
		args := Args{DeliveryID: d.ID, Event: d.Event, Action: d.Action, InstallationID: d.InstallationID, Repo: d.Repo}
		if _, err := q.Insert(ctx, args, nil); err != nil {
			return err
		}
	}
	return nil
}

// resumeGrace leaves a fresh delivery to the job queued with it.
const resumeGrace = 10 * time.Second

// Inserter enqueues jobs; *jobs.Inserter satisfies it.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}
