package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// SweepWorker works SweepArgs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	return w.Service.Sweep(ctx)
}

// orphanSweepInterval is how often the backend is listed for stacks of closed PRs (each listing
// runs the Pulumi CLI); the first sweep after a start always lists.
const orphanSweepInterval = 10 * time.Minute

// Sweep expires idle environments (warning first), gives pending environments and waiting PRs
// their job, and destroys environments whose PR is closed on GitHub though no webhook said so,
// including stacks the store does not know (found in the backend by their tags).
func (s *Service) Sweep(ctx context.Context) error {
	log := jobs.Logger(ctx, s.o.Logger)
	pending, err := s.o.Records.PendingPREnvironments(ctx)
	if err != nil {
		return err
	}
	active := 0
	for _, env := range pending {
		if env.Slot >= 0 {
			active++
		}
	}
	s.metrics.active.Set(float64(active))
	var errs []error
	for _, env := range pending {
		if err := s.sweepOne(ctx, env); err != nil {
			log.Warn("sweeping a PR environment", "repo", env.Repo, "pr", env.PR, "error", err)
			errs = append(errs, err)
		}
	}
	s.mu.Lock()
	due := s.lastOrphanSweep.IsZero() || s.o.Now().Sub(s.lastOrphanSweep) >= orphanSweepInterval
	if due {
		s.lastOrphanSweep = s.o.Now()
	}
	s.mu.Unlock()
	if !due {
		return errors.Join(errs...)
	}
	repos, err := s.o.Records.Repositories(ctx)
	if err != nil {
		return err
	}
	for _, r := range repos {
		if err := s.sweepOrphans(ctx, r); err != nil {
			log.Warn("sweeping orphaned PR stacks", "repo", r.Repo, "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sweepOne checks one environment: PR closed, TTL run out, warning due, or work pending.
func (s *Service) sweepOne(ctx context.Context, env store.PREnvironment) error {
	gh := s.o.GitHub.Installation(env.InstallationID)
	owner, name := githubapi.SplitRepo(env.Repo)
	pr, _, err := gh.GetPullRequest(ctx, owner, name, env.PR)
	switch {
	case githubapi.IsNotFound(err):
		return s.close(ctx, env.Repo, env.PR)
	case err != nil:
		return fmt.Errorf("reading %s#%d: %w", env.Repo, env.PR, err)
	case pr.GetState() != "open":
		return s.close(ctx, env.Repo, env.PR)
	}
	cfg, err := s.config(ctx, env.InstallationID, env.Repo)
	if err != nil || cfg == nil {
		return err
	}
	f, now := factsOf(pr, env.Repo), s.o.Now()
	for _, act := range sweepActions(cfg.Ephemeral, env, f, now) {
		if err := s.sweepAct(ctx, gh, cfg, env, f, act, now); err != nil {
			return err
		}
	}
	return nil
}

// sweepAction is one thing the sweep does to an open PR's environment.
type sweepAction int

const (
	sweepCatchUp sweepAction = iota + 1 // the head moved without a webhook: record it as the synchronize event would have
	sweepExpire                         // idle past its TTL: destroyed by this sweep, not the next one
	sweepWarn                           // expiry is near: edit the comment and post a short one, once
	sweepKeep                           // the keep label came or went: record it
	sweepKick                           // waiting for a slot: its job looks again
)

// sweepActions decides what the sweep does to an open PR's environment given what GitHub says of
// the PR (its head, its labels) and the time. Catching up a missed push, expiring and warning each
// end the sweep of the PR; recording the label and looking for a slot may both happen.
func sweepActions(ec repoconfig.Ephemeral, env store.PREnvironment, pr prFacts, now time.Time) []sweepAction {
	// A push whose webhook never came (the bot was down, the delivery failed).
	if pr.HeadSHA != "" && pr.HeadSHA != env.HeadSHA && env.Want != store.WantDestroy {
		return []sweepAction{sweepCatchUp}
	}
	// Labels compare as the webhook's do (and GitHub's): without regard to case.
	keep := pr.has(ec.Labels.Keep)
	var acts []sweepAction
	if env.Slot >= 0 && env.Want == store.WantDeploy && !keep && !env.ExpiresAt.IsZero() {
		switch {
		case !now.Before(env.ExpiresAt):
			return []sweepAction{sweepExpire}
		case ec.TTLWarning > 0 && !env.Warned && !now.Before(env.ExpiresAt.Add(-ec.TTLWarning)):
			return []sweepAction{sweepWarn}
		}
	} else if keep != env.Keep {
		acts = append(acts, sweepKeep)
	}
	// Work nobody is doing is handed out by Resume; a PR waiting for a slot looks again here.
	if env.Want == store.WantDeploy && env.Status == store.PRQueued {
		acts = append(acts, sweepKick)
	}
	return acts
}

// sweepAct does one of sweepActions' actions.
func (s *Service) sweepAct(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, env store.PREnvironment, f prFacts, act sweepAction, now time.Time) error {
	ec := cfg.Ephemeral
	switch act {
	case sweepCatchUp:
		s.o.Logger.Info("the PR's head moved without a webhook; catching up", "repo", env.Repo, "pr", env.PR, "sha", f.HeadSHA)
		return s.observe(ctx, cfg, env.InstallationID, env.Repo, env.PR, f, false)
	case sweepExpire:
		env, err := s.set(ctx, env, func(e *store.PREnvironment) {
			e.Want, e.Keep = store.WantDestroy, false
			e.Summary = fmt.Sprintf("Expired: idle for longer than %s.", ec.TTL)
		})
		if err != nil {
			return err
		}
		s.o.Logger.Info("PR environment expired", "repo", env.Repo, "pr", env.PR, "stack", env.Stack)
		return s.enqueue(ctx, env.Repo, env.PR, env.InstallationID)
	case sweepWarn:
		return s.warnExpiry(ctx, gh, cfg, env, now)
	case sweepKeep:
		keep := f.has(ec.Labels.Keep)
		_, err := s.set(ctx, env, func(e *store.PREnvironment) { e.Keep = keep })
		return err
	case sweepKick:
		return s.enqueue(ctx, env.Repo, env.PR, env.InstallationID)
	}
	return nil
}

// warnExpiry marks the environment warned, shows the warning in its comment and posts a short
// comment, since an edit notifies nobody.
func (s *Service) warnExpiry(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, env store.PREnvironment, now time.Time) error {
	env, err := s.set(ctx, env, func(e *store.PREnvironment) { e.Warned, e.Keep = true, false })
	if err != nil {
		return err
	}
	if err := s.updateComment(ctx, gh, cfg, env, nil); err != nil {
		return err
	}
	owner, name := githubapi.SplitRepo(env.Repo)
	if _, _, err := gh.CreateComment(ctx, owner, name, env.PR, &github.IssueComment{Body: github.String(
		expiryWarning(env, cfg.Ephemeral.Labels.Keep, now))}); err != nil {
		return fmt.Errorf("warning %s#%d: %w", env.Repo, env.PR, err)
	}
	return nil
}

// expiryWarning is the short comment that tells a PR its environment expires soon.
func expiryWarning(env store.PREnvironment, keepLabel string, now time.Time) string {
	return fmt.Sprintf("⏰ The environment `%s` expires in %s. Comment `/extend 24h` or add the label `%s` to keep it.",
		env.Stack, roughly(env.ExpiresAt.Sub(now)), keepLabel)
}

// sweepOrphans finds the repository's PR stacks in the backend and destroys those whose PR is
// closed, recording the ones the store did not know.
func (s *Service) sweepOrphans(ctx context.Context, r store.Repository) error {
	if s.o.Engine == nil {
		return nil
	}
	projects, err := s.o.Records.PRProjects(ctx, r.Repo)
	if err != nil || len(projects) == 0 {
		return err
	}
	gh := s.o.GitHub.Installation(r.InstallationID)
	owner, name := githubapi.SplitRepo(r.Repo)
	for _, project := range projects {
		stacks, err := s.o.Engine.ListStacks(ctx, project, map[string]string{engine.TagRepo: r.Repo})
		if err != nil {
			return err
		}
		for _, st := range stacks {
			n, err := strconv.Atoi(st.Tags[engine.TagPR])
			if err != nil || n <= 0 {
				continue
			}
			pr, _, err := gh.GetPullRequest(ctx, owner, name, n)
			if err != nil {
				if !githubapi.IsNotFound(err) {
					return fmt.Errorf("reading %s#%d: %w", r.Repo, n, err)
				}
			} else if pr.GetState() == "open" {
				continue
			}
			stack := st.Tags[engine.TagEnv]
			if stack == "" {
				stack = st.Name
			}
			env, err := s.o.Records.UpdatePREnvironment(ctx, r.Repo, n, &store.PREnvironment{InstallationID: r.InstallationID,
				Stack: stack, Project: project, Slot: -1}, func(e *store.PREnvironment) error {
				if e.Project == "" {
					e.Project = project
				}
				e.Want = store.WantDestroy
				return nil
			})
			if err != nil {
				return err
			}
			s.o.Logger.Info("destroying the stack of a closed pull request", "repo", r.Repo, "pr", n, "stack", env.Stack)
			if err := s.enqueue(ctx, r.Repo, n, r.InstallationID); err != nil {
				return err
			}
		}
	}
	return nil
}
