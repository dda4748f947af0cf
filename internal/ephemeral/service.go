// Package ephemeral runs per-pull-request environments: a PR's head is deployed to its own stack
// (pr-<number> by default) when the PR is opened or pushed to, reported in one PR comment kept
// current, a check run per head commit and a transient GitHub Deployment, and destroyed when the
// PR closes, idles past its TTL or is swept as an orphan.
//
// Each PR has one row in the store (store.PREnvironment) that says what is wanted (deploy a given
// head, in push order, or destroy) and one River job (PRArgs, unique while it waits) that
// reconciles the environment with it: the job reads the newest wanted head when it runs, so the
// heads pushed while an operation runs are skipped, and a head older than the deployed one is
// never deployed.
package ephemeral

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Records is the state the feature keeps; *store.Store satisfies it.
type Records interface {
	PREnvironment(ctx context.Context, repo string, pr int) (store.PREnvironment, error)
	UpdatePREnvironment(ctx context.Context, repo string, pr int, init *store.PREnvironment, fn func(*store.PREnvironment) error) (store.PREnvironment, error)
	ClaimSlot(ctx context.Context, repo string, pr, maxActive int, pool string) (slot, position int, err error)
	WaitingPREnvironments(ctx context.Context, repo string) ([]store.PREnvironment, error)
	PendingPREnvironments(ctx context.Context) ([]store.PREnvironment, error)
	PRProjects(ctx context.Context, repo string) ([]string, error)
	Repositories(ctx context.Context) ([]store.Repository, error)
	StackConfig(ctx context.Context, repo, stack string) (map[string]string, error)
	SetStackConfig(ctx context.Context, repo, stack string, values map[string]string) error
	DeleteStackConfig(ctx context.Context, repo, stack string) error
}

// Engine runs Pulumi operations; *engine.Runner satisfies it.
type Engine interface {
	Preview(ctx context.Context, req engine.Request) (engine.Result, error)
	Up(ctx context.Context, req engine.Request) (engine.Result, error)
	Destroy(ctx context.Context, req engine.Request) (engine.Result, error)
	ListStacks(ctx context.Context, project string, tags map[string]string) ([]engine.StackInfo, error)
}

// Options are what a Service is built from.
type Options struct {
	feature.Deps
	Records Records
	// Engine runs the operations; nil when the bot has no Pulumi CLI (jobs then fail saying so).
	Engine Engine
	// Registry receives the feature's metrics. Default: none.
	Registry prometheus.Registerer
}

// Service runs PR environments.
type Service struct {
	o       Options
	metrics *metrics

	kicks lease.Kicks

	mu              sync.Mutex
	lastOrphanSweep time.Time
}

// New returns a Service.
func New(o Options) *Service {
	o.Deps = o.Deps.WithDefaults()
	return &Service{o: o, metrics: newMetrics(o.Registry)}
}

// PRArgs is the job that reconciles one PR's environment with what its row wants. It is not
// unique: a job that finds the PR's lease taken ends at once, and the holder looks at the row
// again before it lets go (see PRWorker.Work).
type PRArgs struct {
	Repo           string `json:"repo"`
	PR             int    `json:"pr"`
	InstallationID int64  `json:"installation_id"`
}

// Kind implements river.JobArgs.
func (PRArgs) Kind() string { return "ephemeral_pr" }

// InsertOpts: failures are retried by Service.Resume after a growing pause, not by the queue.
func (PRArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// SweepArgs is the periodic job that expires idle environments, warns before, starts waiting
// PRs when slots free up and destroys the environments of PRs closed while the bot was not looking.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "ephemeral_sweep" }

// enqueue queues a job that looks at the PR's row after this call.
func (s *Service) enqueue(ctx context.Context, repo string, pr int, installation int64) error {
	if _, err := s.o.Jobs.Insert(ctx, PRArgs{Repo: repo, PR: pr, InstallationID: installation}, nil); err != nil {
		return fmt.Errorf("queueing the job of %s#%d: %w", repo, pr, err)
	}
	return nil
}
