package promotion

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Triggers recorded on promotions.
const (
	TriggerMerge   = "merge"
	TriggerLabel   = "label"
	TriggerComment = "comment"
	TriggerAPI     = "api"
)

// Records is the state the feature keeps; *store.Store satisfies it.
type Records interface {
	InsertPromotion(ctx context.Context, p store.Promotion) (bool, error)
	UpdatePromotion(ctx context.Context, p store.Promotion) error
	PromotionByID(ctx context.Context, id string) (store.Promotion, error)
	QueuedPromotions(ctx context.Context, repo, env string) ([]store.Promotion, error)
	PromotionHistory(ctx context.Context, repo, env string, limit int) ([]store.Promotion, error)
	SucceededPromotions(ctx context.Context, repo, env string, limit int) ([]store.Promotion, error)
	CurrentDeployment(ctx context.Context, repo, env string) (string, time.Time, error)
	FirstSuccess(ctx context.Context, repo, sha string) (map[string]time.Time, error)
	QueuedEnvironments(ctx context.Context) ([]store.PromotionEnvironment, error)
	AddApproval(ctx context.Context, repo, env, sha, approver string) error
	Approvals(ctx context.Context, repo, env, sha string) ([]store.ApprovalRecord, error)
	StackConfig(ctx context.Context, repo, stack string) (map[string]string, error)
	Delivery(ctx context.Context, id string) (store.Delivery, error)
}

// Engine runs Pulumi operations; *engine.Runner satisfies it.
type Engine interface {
	Preview(ctx context.Context, req engine.Request) (engine.Result, error)
	Up(ctx context.Context, req engine.Request) (engine.Result, error)
}

// Options are what a Service is built from.
type Options struct {
	feature.Deps
	Records Records
	// Engine runs the deploys; nil when the bot has no Pulumi CLI (promotions then fail with
	// an error saying so).
	Engine Engine
	// HistoryLimit is how many promotions /history lists. Default 10.
	HistoryLimit int
}

// Service carries out promotions.
type Service struct {
	o     Options
	kicks lease.Kicks
}

// New returns a Service.
func New(o Options) *Service {
	o.Deps = o.Deps.WithDefaults()
	if o.HistoryLimit == 0 {
		o.HistoryLimit = 10
	}
	return &Service{o: o}
}

// EnvironmentArgs is the job that works an environment's queue: one at a time per environment,
// newest eligible commit first.
type EnvironmentArgs struct {
	Repo           string `json:"repo"`
	Environment    string `json:"environment"`
	InstallationID int64  `json:"installation_id"`
}

// Kind implements river.JobArgs.
func (EnvironmentArgs) Kind() string { return "promotion_environment" }

// InsertOpts: the job is not unique — one that finds the environment's lease taken ends at once
// and the holder looks at the queue again before it lets go. Failures are retried by Resume after
// a growing pause, not by the queue.
func (EnvironmentArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// SweepArgs is the periodic job that gives every environment with queued promotions a job, so
// a promotion queued just as its environment's job finished is not left waiting.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "promotion_sweep" }

// enqueue makes sure the environment's job exists.
func (s *Service) enqueue(ctx context.Context, repo, env string, installation int64) error {
	if _, err := s.o.Jobs.Insert(ctx, EnvironmentArgs{Repo: repo, Environment: strings.ToLower(env), InstallationID: installation}, nil); err != nil {
		return fmt.Errorf("queueing the promotion job of %s in %s: %w", env, repo, err)
	}
	return nil
}

// request records a promotion, opens its GitHub Deployment (status queued) and queues its
// environment's job. Retrying it is harmless: the record's ID makes it happen once.
func (s *Service) request(ctx context.Context, cfg *repoconfig.Config, p store.Promotion) error {
	env, ok := cfg.Environment(p.Environment)
	if !ok {
		return fmt.Errorf("promoting to %s: no such environment", p.Environment)
	}
	p.Environment, p.Stack = strings.ToLower(env.Name), env.Stack
	fresh, err := s.o.Records.InsertPromotion(ctx, p)
	if err != nil {
		return err
	}
	rec, err := s.o.Records.PromotionByID(ctx, p.ID)
	if err != nil {
		return err
	}
	if rec.Finished() {
		return nil
	}
	gh := s.o.GitHub.Installation(rec.InstallationID)
	if rec.DeploymentID == 0 {
		id, err := s.createDeployment(ctx, gh, cfg, rec)
		if err != nil {
			return err
		}
		rec.DeploymentID, fresh = id, true
		if err := s.o.Records.UpdatePromotion(ctx, rec); err != nil {
			return err
		}
	}
	if fresh {
		s.status(ctx, gh, rec, "queued", "waiting for "+rec.Environment)
	}
	return s.enqueue(ctx, rec.Repo, rec.Environment, rec.InstallationID)
}

// Sweep gives every environment with queued promotions a job (the periodic job of earlier
// releases; Resume does it now).
func (s *Service) Sweep(ctx context.Context) error { return s.Resume(ctx, s.o.Now()) }

// Resume gives a job to every environment whose queue has promotions (queued, or running when a
// replica crashed) and that nobody works on: after a crash, a retry pause, or a lost job.
func (s *Service) Resume(ctx context.Context, now time.Time) error {
	envs, err := s.o.Records.QueuedEnvironments(ctx)
	if err != nil {
		return err
	}
	for _, e := range envs {
		key := environmentLeaseKey(e.Repo, e.Environment)
		free, err := lease.Free(ctx, s.o.Leases, key)
		if err != nil {
			return err
		}
		if !free || !s.kicks.Due(key, now) {
			continue
		}
		if err := s.enqueue(ctx, e.Repo, e.Environment, e.InstallationID); err != nil {
			return err
		}
	}
	return nil
}

// environmentLeaseKey names the lease of one environment's promotion queue.
func environmentLeaseKey(repo, env string) string {
	return "promotion:" + repo + "/" + strings.ToLower(env)
}

// SweepWorker works SweepArgs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	return w.Service.Sweep(ctx)
}
