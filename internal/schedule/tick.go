package schedule

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/store"
)

// TickArgs reconciles desired and applied sleep states: of every repository, or of Repo only.
type TickArgs struct {
	// Repo limits the tick to one repository ("owner/name"); empty means all.
	Repo string `json:"repo,omitempty"`
}

// Kind implements river.JobArgs.
func (TickArgs) Kind() string { return "schedule_tick" }

// InsertOpts: a tick changes nothing itself and is cheap to repeat, so it is not unique (a unique
// tick left "running" by a crashed replica would block every later one).
func (TickArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	s *Scheduler
}

// Work computes each governed stack's desired state and enqueues a transition for each that
// differs from what was applied. It changes nothing itself, so a tick is cheap and safe to repeat.
func (w *tickWorker) Work(ctx context.Context, job *river.Job[TickArgs]) error {
	s := w.s
	log := jobs.Logger(ctx, s.o.Logger)
	repos, err := s.o.Store.Repositories(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range repos {
		if job.Args.Repo != "" && r.Repo != job.Args.Repo {
			continue
		}
		if err := s.reconcile(ctx, r); err != nil {
			log.Warn("reconciling schedules", "repo", r.Repo, "error", err)
			errs = append(errs, fmt.Errorf("%s: %w", r.Repo, err))
		}
	}
	return errors.Join(errs...)
}

// reconcile enqueues the transitions one repository needs.
func (s *Scheduler) reconcile(ctx context.Context, r store.Repository) error {
	loaded, ok, err := s.loadConfig(ctx, r.InstallationID, r.Repo)
	if err != nil || !ok || len(loaded.Config.Schedules) == 0 {
		return err
	}
	cfg := loaded.Config
	overrides, err := s.o.Store.SleepOverrides(ctx, r.Repo)
	if err != nil {
		return err
	}
	targets, err := s.targets(ctx, r.Repo, cfg)
	if err != nil {
		return err
	}
	for _, t := range targets {
		applied, err := s.applied(ctx, r.Repo, t)
		if err != nil {
			return err
		}
		if applied == Asleep && t.plan.WakeOnDeploy {
			if overrides, err = s.wakeOnDeploy(ctx, r.Repo, t, overrides); err != nil {
				return err
			}
		}
		d := s.desired(t, overrides)
		s.metrics.observe(r.Repo, t, applied)
		if d.State == applied {
			continue
		}
		// A transition of this stack is running, or pausing after a failure: it is not queued twice.
		if free, err := lease.Free(ctx, s.o.Store, transitionLeaseKey(r.Repo, t.stack)); err != nil || !free {
			if err != nil {
				return err
			}
			continue
		}
		if _, err := s.o.Jobs.Insert(ctx, TransitionArgs{InstallationID: r.InstallationID, Repo: r.Repo,
			Environment: t.env, Stack: t.stack, State: d.State, Reason: d.Reason}, nil); err != nil {
			return err
		}
	}
	return nil
}

// applied is the state last applied to a target; a stack the scheduler never touched is awake.
func (s *Scheduler) applied(ctx context.Context, repo string, t target) (State, error) {
	st, err := s.o.Store.SleepState(ctx, repo, t.env, t.stack)
	if errors.Is(err, store.ErrNotFound) {
		return Awake, nil
	}
	if err != nil {
		return "", err
	}
	return State(st.State), nil
}

// wakeOnDeploy turns a deploy that reached a sleeping environment into an override that keeps it
// awake until its next scheduled sleep.
func (s *Scheduler) wakeOnDeploy(ctx context.Context, repo string, t target, overrides map[string]store.SleepOverride) (map[string]store.SleepOverride, error) {
	if s.o.LastDeploy == nil {
		return overrides, nil
	}
	st, err := s.o.Store.SleepState(ctx, repo, t.env, t.stack)
	if err != nil {
		return overrides, err
	}
	deployed, err := s.o.LastDeploy(ctx, repo, t.env, t.stack)
	if err != nil || deployed.IsZero() || !deployed.After(st.ChangedAt) {
		return overrides, err
	}
	if o, ok := overrides[t.env]; ok && !o.SetAt.Before(deployed) {
		return overrides, nil // already answered, or a person decided since
	}
	now := s.o.Now()
	until, ok := t.plan.Sleep.Next(now)
	if !ok {
		until = now.Add(12 * time.Hour)
	}
	o := store.SleepOverride{Repo: repo, Environment: t.env, State: string(Awake), Until: until, SetBy: "a deploy", SetAt: now}
	if err := s.o.Store.SetSleepOverride(ctx, o); err != nil {
		return overrides, err
	}
	out := maps.Clone(overrides)
	if out == nil {
		out = map[string]store.SleepOverride{}
	}
	out[t.env] = o
	return out, nil
}
