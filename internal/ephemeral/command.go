package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Commands are the comment commands of PR environments (write permission each).
func (s *Service) Commands() []command.Spec {
	return []command.Spec{
		{Name: "deploy", Usage: "/deploy", Help: "deploy this pull request's head to its environment (on a fork: approve exactly this commit)",
			Handler: command.HandlerFunc(s.deployCommand)},
		{Name: "destroy", Usage: "/destroy", Help: "destroy this pull request's environment (until the next /deploy)",
			Handler: command.HandlerFunc(s.destroyCommand)},
		{Name: "preview", Usage: "/preview", Help: "preview this pull request's head without deploying",
			Handler: command.HandlerFunc(s.previewCommand)},
		{Name: "extend", Usage: "/extend <duration>", Help: "postpone this environment's expiry, e.g. /extend 24h",
			Handler: command.HandlerFunc(s.extendCommand)},
	}
}

// prState reads the PR's facts from GitHub.
func (s *Service) prState(ctx context.Context, c command.Command) (prFacts, error) {
	gh := s.o.GitHub.Installation(c.InstallationID)
	owner, name := githubapi.SplitRepo(c.Repo)
	pr, _, err := gh.GetPullRequest(ctx, owner, name, c.PR)
	if err != nil {
		return prFacts{}, fmt.Errorf("reading %s#%d: %w", c.Repo, c.PR, err)
	}
	return factsOf(pr, c.Repo), nil
}

// commandTarget loads the config and the PR's facts for a command about the PR; a nil config
// means PR environments are off and the command was answered.
func (s *Service) commandTarget(ctx context.Context, c command.Command) (*repoconfig.Config, prFacts, error) {
	cfg, err := s.commandConfig(ctx, c)
	if err != nil || cfg == nil {
		return nil, prFacts{}, err
	}
	f, err := s.prState(ctx, c)
	return cfg, f, err
}

// commandConfig loads the config and answers when PR environments are off.
func (s *Service) commandConfig(ctx context.Context, c command.Command) (*repoconfig.Config, error) {
	cfg, err := s.config(ctx, c.InstallationID, c.Repo)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, c.Reply(ctx, "PR environments are not enabled in this repository's `.stagecoach.yaml` (`ephemeral.enabled`).")
	}
	return cfg, nil
}

func (s *Service) deployCommand(ctx context.Context, c command.Command) error {
	cfg, f, err := s.commandTarget(ctx, c)
	if err != nil || cfg == nil {
		return err
	}
	if !f.Open {
		return c.Reply(ctx, "This pull request is closed; it gets no environment.")
	}
	if f.Fork && cfg.Ephemeral.Forks == repoconfig.ForkNever {
		return c.Reply(ctx, "This repository never deploys pull requests from forks (`ephemeral.forks: never`).")
	}
	// Applied once per comment: a retried /deploy must not redeploy what it deployed already.
	ec := cfg.Ephemeral
	init := &store.PREnvironment{InstallationID: c.InstallationID, Stack: ec.StackName(c.PR), Slot: -1}
	approved, err := c.Once(ctx, "deploy", func(ctx context.Context) (string, error) {
		_, err := s.o.Records.UpdatePREnvironment(ctx, c.Repo, c.PR, init, func(e *store.PREnvironment) error {
			if f.Fork {
				// Bound to what the writer saw: never a head that arrived after the comment.
				sha, no := forkApproval(*e, f.HeadSHA, c)
				if no != nil {
					return no
				}
				e.ApprovedSHA = sha
			}
			e.Fork, e.Keep, e.Paused = f.Fork, f.has(ec.Labels.Keep), false
			if f.HeadSHA != e.HeadSHA {
				e.HeadSHA, e.HeadSeq, e.HeadAt = f.HeadSHA, e.HeadSeq+1, f.UpdatedAt
			}
			e.Want, e.DesiredSHA, e.DesiredSeq = store.WantDeploy, e.HeadSHA, e.HeadSeq
			if e.FailedSeq >= e.DesiredSeq {
				e.FailedSeq = 0 // /deploy retries a failed deploy
			}
			if e.DeployedSeq >= e.DesiredSeq {
				e.DeployedSeq = e.DesiredSeq - 1 // /deploy redeploys
			}
			e.ExpiresAt, e.Warned, e.Summary = s.o.Now().Add(ec.TTL), false, ""
			return nil
		})
		return f.HeadSHA, err
	})
	var no *refusal
	if errors.As(err, &no) {
		return c.Reply(ctx, no.msg)
	}
	if err != nil {
		return err
	}
	if f.Fork {
		if err := c.Reply(ctx, fmt.Sprintf("@%s approved commit %s of this fork for deployment. A new push needs a new `/deploy`.", c.Author, render.ShortSHA(approved))); err != nil {
			return err
		}
	}
	return s.enqueue(ctx, c.Repo, c.PR, c.InstallationID)
}

func (s *Service) destroyCommand(ctx context.Context, c command.Command) error {
	cfg, err := s.commandConfig(ctx, c)
	if err != nil || cfg == nil {
		return err
	}
	none, err := c.Once(ctx, "destroy", func(ctx context.Context) (string, error) {
		env, err := s.o.Records.UpdatePREnvironment(ctx, c.Repo, c.PR, nil, func(e *store.PREnvironment) error {
			e.Paused = true
			if e.Slot >= 0 || e.Want == store.WantDeploy {
				e.Want = store.WantDestroy
			}
			return nil
		})
		if errors.Is(err, store.ErrNotFound) || (err == nil && env.Want != store.WantDestroy) {
			return "nothing to destroy", nil
		}
		return "", err
	})
	if err != nil {
		return err
	}
	if none != "" {
		return c.Reply(ctx, "This pull request has no environment to destroy.")
	}
	return s.enqueue(ctx, c.Repo, c.PR, c.InstallationID)
}

func (s *Service) previewCommand(ctx context.Context, c command.Command) error {
	cfg, f, err := s.commandTarget(ctx, c)
	if err != nil || cfg == nil {
		return err
	}
	if f.Fork && cfg.Ephemeral.Forks == repoconfig.ForkNever {
		return c.Reply(ctx, "This repository never runs code from forks (`ephemeral.forks: never`).")
	}
	if f.Fork {
		// A preview runs the program too: a fork's code needs the same approval as a deploy.
		env, err := s.o.Records.PREnvironment(ctx, c.Repo, c.PR)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if env.ApprovedSHA == "" || env.ApprovedSHA != f.HeadSHA {
			return c.Reply(ctx, fmt.Sprintf("Not previewed: a preview runs this fork's code, so its head %s needs a writer's `/deploy %s` first.",
				render.ShortSHA(f.HeadSHA), render.ShortSHA(f.HeadSHA)))
		}
	}
	ec := cfg.Ephemeral
	init := &store.PREnvironment{InstallationID: c.InstallationID, Stack: ec.StackName(c.PR), Slot: -1}
	if _, err := c.Once(ctx, "preview", func(ctx context.Context) (string, error) {
		_, err := s.o.Records.UpdatePREnvironment(ctx, c.Repo, c.PR, init, func(e *store.PREnvironment) error {
			if f.HeadSHA != e.HeadSHA {
				e.HeadSHA, e.HeadSeq, e.HeadAt = f.HeadSHA, e.HeadSeq+1, f.UpdatedAt
			}
			e.Fork, e.PreviewWanted = f.Fork, true
			return nil
		})
		return "", err
	}); err != nil {
		return err
	}
	return s.enqueue(ctx, c.Repo, c.PR, c.InstallationID)
}

func (s *Service) extendCommand(ctx context.Context, c command.Command) error {
	if len(c.Args) != 1 {
		return command.Usagef("give one duration, e.g. `/extend 24h`")
	}
	d, err := repoconfig.ParseDuration(c.Args[0])
	if err != nil || d <= 0 {
		return command.Usagef("%s is not a duration; write e.g. 90m, 24h or 2d", command.Code(c.Args[0]))
	}
	cfg, err := s.commandConfig(ctx, c)
	if err != nil || cfg == nil {
		return err
	}
	if max := cfg.Ephemeral.MaxExtension; d > max {
		if max == 0 {
			return c.Reply(ctx, "`/extend` is turned off in this repository (`ephemeral.max_extension: 0`).")
		}
		return command.Usagef("at most %s at a time (`ephemeral.max_extension`)", max)
	}
	// The new expiry is decided once and recorded with the comment, then applied as "at least
	// until": a retry after a failure (even one between the write and the record) sets the same
	// time again instead of adding the duration twice.
	decided, err := c.Once(ctx, "extend", func(ctx context.Context) (string, error) {
		env, err := s.o.Records.PREnvironment(ctx, c.Repo, c.PR)
		if errors.Is(err, store.ErrNotFound) || (err == nil && env.Slot < 0) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		from := env.ExpiresAt
		if now := s.o.Now(); from.Before(now) {
			from = now
		}
		return strconv.FormatInt(from.Add(d).UnixMilli(), 10), nil
	})
	if err != nil {
		return err
	}
	ms, err := strconv.ParseInt(decided, 10, 64)
	if decided == "" || err != nil {
		return c.Reply(ctx, "This pull request has no environment to extend.")
	}
	until := time.UnixMilli(ms)
	env, err := s.o.Records.UpdatePREnvironment(ctx, c.Repo, c.PR, nil, func(e *store.PREnvironment) error {
		if e.Slot < 0 {
			return store.ErrNotFound
		}
		if e.ExpiresAt.Before(until) {
			e.ExpiresAt, e.Warned = until, false
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return c.Reply(ctx, "This pull request has no environment to extend.")
	}
	if err != nil {
		return err
	}
	return s.updateComment(ctx, s.o.GitHub.Installation(c.InstallationID), cfg, env, nil)
}
