package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Store is the state the scheduler reads and records.
type Store interface {
	Repositories(ctx context.Context) ([]store.Repository, error)
	SleepOverrides(ctx context.Context, repo string) (map[string]store.SleepOverride, error)
	SetSleepOverride(ctx context.Context, o store.SleepOverride) error
	SleepState(ctx context.Context, repo, env, stack string) (store.SleepState, error)
	SetSleepState(ctx context.Context, st store.SleepState) error
	StackConfig(ctx context.Context, repo, stack string) (map[string]string, error)
	SetStackConfig(ctx context.Context, repo, stack string, values map[string]string) error
	// The leases keep one transition of a stack at a time, across replicas.
	lease.Table
}

// Engine runs the updates that put stacks to sleep and wake them; *engine.Runner satisfies it.
type Engine interface {
	Up(ctx context.Context, req engine.Request) (engine.Result, error)
	Tags(ctx context.Context, req engine.Request) (map[string]string, error)
}

// PRTarget is one active PR environment, for the ephemeral schedule.
type PRTarget struct {
	Stack         string
	FirstDeployed time.Time
}

// PRLister lists a repository's active PR environments. Optional: without it the ephemeral
// schedule has nothing to act on.
type PRLister func(ctx context.Context, repo string) ([]PRTarget, error)

// LastDeploy reports when a stack was last deployed by a feature (zero time when never), for
// wake_on_deploy.
type LastDeploy func(ctx context.Context, repo, env, stack string) (time.Time, error)

// Options are what a Scheduler is built from.
type Options struct {
	Store  Store
	Jobs   feature.Inserter
	Config feature.Configs
	GitHub githubapi.Installations
	// Engine may be nil when no Pulumi CLI is installed; transitions then fail with a clear error.
	Engine Engine
	Source feature.Sources
	// PREnvironments lists PR environments; optional.
	PREnvironments PRLister
	// LastDeploy tells when stacks were last deployed; without it wake_on_deploy has no effect.
	LastDeploy LastDeploy
	Logger     *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Registry receives the schedule metrics; optional.
	Registry prometheus.Registerer
	// Interval is how often the desired states are reconciled. Default 1m.
	Interval time.Duration
}

// Scheduler puts environments to sleep and wakes them.
type Scheduler struct {
	o       Options
	metrics *gauges
}

// New returns a scheduler.
func New(o Options) *Scheduler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	return &Scheduler{o: o, metrics: newGauges(o.Registry)}
}

// AddWorkers registers the scheduler's jobs.
func (s *Scheduler) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &tickWorker{s: s})
	river.AddWorker(w, &transitionWorker{s: s})
}

// Periodic is the reconciliation tick: on the elected leader only, so with several replicas
// each tick runs once, and once at start-up to catch up on transitions missed while down.
func (s *Scheduler) Periodic() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(s.o.Interval),
		func() (river.JobArgs, *river.InsertOpts) { return TickArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// Commands are /wake and /sleep.
func (s *Scheduler) Commands() []command.Spec {
	return []command.Spec{
		{Name: "wake", Usage: "/wake <env> [for <duration>]", Help: "wake a sleeping environment now (default for 2h), then the schedule takes over",
			Handler: command.HandlerFunc(s.wake)},
		{Name: "sleep", Usage: "/sleep <env> [for <duration>]", Help: "put an environment to sleep now (default until its next scheduled wake)",
			Handler: command.HandlerFunc(s.sleep)},
	}
}

// target is one stack a schedule governs.
type target struct {
	plan          Plan
	env           string // environment name, or the PR stack for PR environments
	stack         string
	firstDeployed time.Time
	ephemeral     bool
}

// targets lists the stacks cfg's schedules govern in repo.
func (s *Scheduler) targets(ctx context.Context, repo string, cfg *repoconfig.Config) ([]target, error) {
	var out []target
	for _, sc := range cfg.Schedules {
		p, err := NewPlan(sc)
		if err != nil {
			return nil, err
		}
		if sc.Environment == repoconfig.EphemeralScheduleKey {
			if s.o.PREnvironments == nil {
				continue
			}
			prs, err := s.o.PREnvironments(ctx, repo)
			if err != nil {
				return nil, fmt.Errorf("listing the PR environments of %s: %w", repo, err)
			}
			for _, pr := range prs {
				out = append(out, target{plan: p, env: pr.Stack, stack: pr.Stack, firstDeployed: pr.FirstDeployed, ephemeral: true})
			}
			continue
		}
		env, ok := cfg.Environment(sc.Environment)
		if !ok {
			continue // validation refuses this; never reached with a loaded config
		}
		p.Production = env.Production // never asleep, even if validation was bypassed
		out = append(out, target{plan: p, env: env.Name, stack: env.Stack})
	}
	return out, nil
}

// desired is a target's desired state now, with the override in force.
func (s *Scheduler) desired(t target, overrides map[string]store.SleepOverride) Decision {
	var o *Override
	if so, ok := overrides[t.env]; ok {
		o = &Override{State: State(so.State), Until: so.Until, By: so.SetBy, At: so.SetAt}
	}
	return t.plan.Desired(s.o.Now(), o, t.firstDeployed)
}

// loadConfig reads repo's config from its default branch, with the commit it was read at;
// ok is false when the repo has none or a broken one.
func (s *Scheduler) loadConfig(ctx context.Context, installation int64, repo string) (repoconfig.Loaded, bool, error) {
	loaded, err := feature.Config(ctx, s.o.Config, installation, repo)
	return loaded, loaded.Config != nil, err
}
