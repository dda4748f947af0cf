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

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/jobs"
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
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// Event is a delivery handed to processors.
type Event struct {
	Args
	// Payload is the raw webhook JSON.
	Payload []byte
}

// Processor acts on events of the kinds it is registered for. Process may run more than once
// for one delivery (a retried job re-runs every processor), so it must be idempotent: most
// processors only enqueue their own unique jobs.
type Processor interface {
	Process(ctx context.Context, e Event) error
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(ctx context.Context, e Event) error

// Process implements Processor.
func (f ProcessorFunc) Process(ctx context.Context, e Event) error { return f(ctx, e) }

// Deliveries reads stored deliveries and remembers which repositories send them.
type Deliveries interface {
	Delivery(ctx context.Context, id string) (store.Delivery, error)
	TouchRepository(ctx context.Context, repo string, installation int64) error
}

// Worker works Args jobs.
type Worker struct {
	river.WorkerDefaults[Args]
	// Deliveries is where payloads are read from.
	Deliveries Deliveries
	// Processors lists, per event name, who acts on it.
	Processors map[string][]Processor
	// Logger is used when the job context carries none.
	Logger *slog.Logger
}

// Work implements river.Worker.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	a := job.Args
	log := jobs.Logger(ctx, w.Logger).With("delivery_id", a.DeliveryID, "installation_id", a.InstallationID,
		"repo", a.Repo, "event", a.Event, "action", a.Action)
	if a.PR != 0 {
		log = log.With("pr", a.PR)
	}
	d, err := w.Deliveries.Delivery(ctx, a.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		// Deliveries outlive their jobs' retention; a missing one was cleaned up and cannot be acted on.
		log.Warn("delivery no longer stored; nothing to do")
		return nil
	}
	if err != nil {
		return err
	}
	if err := w.Deliveries.TouchRepository(ctx, a.Repo, a.InstallationID); err != nil {
		return err
	}
	ctx = jobs.WithLogger(ctx, log)
	e := Event{Args: a, Payload: d.Payload}
	var errs []error
	for _, p := range w.Processors[a.Event] {
		if err := p.Process(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("processing %s delivery %s: %w", a.Event, a.DeliveryID, err)
	}
	return nil
}
