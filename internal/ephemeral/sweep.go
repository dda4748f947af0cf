package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/jobs"
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
	var ghErr *github.ErrorResponse
	switch {
	case errors.As(err, &ghErr) && ghErr.Response != nil && ghErr.Response.StatusCode == http.StatusNotFound:
		return s.close(ctx, env.Repo, env.PR)
	case err != nil:
		return fmt.Errorf("reading %s#%d: %w", env.Repo, env.PR, err)
	case pr.GetState() != "open":
		return s.close(ctx, env.Repo, env.PR)
	}
	cfg, err := s.config(ctx, env.InstallationID, env.Repo)
	if err != nil {
		return err
	}
	if cfg == nil {
		return nil
	}
	ec := cfg.Ephemeral
	keep := false
	for _, l := range pr.Labels {
		if l.GetName() == ec.Labels.Keep {
			keep = true
		}
	}
	// A push whose webhook never came (the bot was down, the delivery failed): record the head
	// GitHub has now, as the synchronize event would have.
	if head := pr.GetHead().GetSHA(); head != "" && head != env.HeadSHA && env.Want != store.WantDestroy {
		f := factsOf(pr, env.Repo)
		s.o.Logger.Info("the PR's head moved without a webhook; catching up", "repo", env.Repo, "pr", env.PR, "sha", head)
		return s.observe(ctx, cfg, env.InstallationID, env.Repo, env.PR, f, false)
	}
	now := s.o.Now()
	if env.Slot >= 0 && env.Want == store.WantDeploy && !keep && !env.ExpiresAt.IsZero() {
		switch {
		case !now.Before(env.ExpiresAt):
			// Expired: destroyed by this sweep, not the next one.
			env, err = s.set(ctx, env, func(e *store.PREnvironment) {
				e.Want, e.Keep = store.WantDestroy, false
				e.Summary = fmt.Sprintf("Expired: idle for longer than %s.", ec.TTL)
			})
			if err != nil {
				return err
			}
			s.o.Logger.Info("PR environment expired", "repo", env.Repo, "pr", env.PR, "stack", env.Stack)
			return s.enqueue(ctx, env.Repo, env.PR, env.InstallationID)
		case ec.TTLWarning > 0 && !env.Warned && !now.Before(env.ExpiresAt.Add(-ec.TTLWarning)):
			env, err = s.set(ctx, env, func(e *store.PREnvironment) { e.Warned, e.Keep = true, false })
			if err != nil {
				return err
			}
			if err := s.updateComment(ctx, gh, cfg, env, nil); err != nil {
				return err
			}
			// The edit does not notify anyone: a short comment does.
			if _, _, err := gh.CreateComment(ctx, owner, name, env.PR, &github.IssueComment{Body: github.String(
				fmt.Sprintf("⏰ The environment `%s` expires in %s. Comment `/extend 24h` or add the label `%s` to keep it.",
					env.Stack, roughly(env.ExpiresAt.Sub(now)), ec.Labels.Keep))}); err != nil {
				return fmt.Errorf("warning %s#%d: %w", env.Repo, env.PR, err)
			}
			return nil
		}
	} else if keep != env.Keep {
		if _, err := s.set(ctx, env, func(e *store.PREnvironment) { e.Keep = keep }); err != nil {
			return err
		}
	}
	// Work nobody is doing is handed out by Resume; a PR waiting for a slot looks again here.
	if env.Want == store.WantDeploy && env.Status == store.PRQueued {
		return s.enqueue(ctx, env.Repo, env.PR, env.InstallationID)
	}
	return nil
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
