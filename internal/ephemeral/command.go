package ephemeral

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/command"
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
	owner, name := splitRepo(c.Repo)
	pr, _, err := gh.PullRequests.Get(ctx, owner, name, c.PR)
	if err != nil {
		return prFacts{}, fmt.Errorf("reading %s#%d: %w", c.Repo, c.PR, err)
	}
	f := prFacts{Open: pr.GetState() == "open", Draft: pr.GetDraft(), HeadSHA: pr.GetHead().GetSHA(),
		Fork: pr.GetHead().GetRepo() == nil || pr.GetHead().GetRepo().GetFullName() != c.Repo}
	for _, l := range pr.Labels {
		f.Labels = append(f.Labels, l.GetName())
	}
	return f, nil
}

func (s *Service) reply(ctx context.Context, c command.Command, body string) error {
	gh := s.o.GitHub.Installation(c.InstallationID)
	owner, name := splitRepo(c.Repo)
	if _, _, err := gh.Issues.CreateComment(ctx, owner, name, c.PR, &github.IssueComment{Body: github.String(body)}); err != nil {
		return fmt.Errorf("answering %s on %s#%d: %w", c, c.Repo, c.PR, err)
	}
	return nil
}

// commandConfig loads the config and answers when PR environments are off.
func (s *Service) commandConfig(ctx context.Context, c command.Command) (*repoconfig.Config, error) {
	cfg, err := s.config(ctx, c.InstallationID, c.Repo)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, s.reply(ctx, c, "PR environments are not enabled in this repository's `.stagecoach.yaml` (`ephemeral.enabled`).")
	}
	return cfg, nil
}

func (s *Service) deployCommand(ctx context.Context, c command.Command) error {
	cfg, err := s.commandConfig(ctx, c)
	if err != nil || cfg == nil {
		return err
	}
	f, err := s.prState(ctx, c)
	if err != nil {
		return err
	}
	if !f.Open {
		return s.reply(ctx, c, "This pull request is closed; it gets no environment.")
	}
	if f.Fork && cfg.Ephemeral.Forks == repoconfig.ForkNever {
		return s.reply(ctx, c, "This repository never deploys pull requests from forks (`ephemeral.forks: never`).")
	}
	ec := cfg.Ephemeral
	init := &store.PREnvironment{InstallationID: c.InstallationID, Stack: ec.StackName(c.PR), Slot: -1}
	_, err = s.o.Records.UpdatePREnvironment(ctx, c.Repo, c.PR, init, func(e *store.PREnvironment) error {
		e.Fork, e.Keep, e.Paused = f.Fork, f.has(ec.Labels.Keep), false
		if f.HeadSHA != e.HeadSHA {
			e.HeadSHA, e.HeadSeq = f.HeadSHA, e.HeadSeq+1
		}
		if f.Fork {
			e.ApprovedSHA = f.HeadSHA
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
	if err != nil {
		return err
	}
	if f.Fork {
		if err := s.reply(ctx, c, fmt.Sprintf("@%s approved commit %s of this fork for deployment. A new push needs a new `/deploy`.", c.Author, short(f.HeadSHA))); err != nil {
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
	env, err := s.o.Records.UpdatePREnvironment(ctx, c.Repo, c.PR, nil, func(e *store.PREnvironment) error {
		e.Paused = true
		if e.Slot >= 0 || e.Want == store.WantDeploy {
			e.Want = store.WantDestroy
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && env.Want != store.WantDestroy) {
		return s.reply(ctx, c, "This pull request has no environment to destroy.")
	}
	if err != nil {
		return err
	}
	return s.enqueue(ctx, c.Repo, c.PR, c.InstallationID)
}

func (s *Service) previewCommand(ctx context.Context, c command.Command) error {
	cfg, err := s.commandConfig(ctx, c)
	if err != nil || cfg == nil {
		return err
	}
	f, err := s.prState(ctx, c)
	if err != nil {
		return err
	}
	if f.Fork && cfg.Ephemeral.Forks == repoconfig.ForkNever {
		return s.reply(ctx, c, "This repository never runs code from forks (`ephemeral.forks: never`).")
	}
	ec := cfg.Ephemeral
	init := &store.PREnvironment{InstallationID: c.InstallationID, Stack: ec.StackName(c.PR), Slot: -1}
	if _, err := s.o.Records.UpdatePREnvironment(ctx, c.Repo, c.PR, init, func(e *store.PREnvironment) error {
		if f.HeadSHA != e.HeadSHA {
			e.HeadSHA, e.HeadSeq = f.HeadSHA, e.HeadSeq+1
		}
		e.Fork, e.PreviewWanted = f.Fork, true
		return nil
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
		return command.Usagef("%q is not a duration; write e.g. 90m, 24h or 2d", c.Args[0])
	}
	cfg, err := s.commandConfig(ctx, c)
	if err != nil || cfg == nil {
		return err
	}
	if max := cfg.Ephemeral.MaxExtension; d > max {
		if max == 0 {
			return s.reply(ctx, c, "`/extend` is turned off in this repository (`ephemeral.max_extension: 0`).")
		}
		return command.Usagef("at most %s at a time (`ephemeral.max_extension`)", max)
	}
	env, err := s.o.Records.UpdatePREnvironment(ctx, c.Repo, c.PR, nil, func(e *store.PREnvironment) error {
		if e.Slot < 0 {
			return store.ErrNotFound
		}
		from := e.ExpiresAt
		if now := s.o.Now(); from.Before(now) {
			from = now
		}
		e.ExpiresAt, e.Warned = from.Add(d), false
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return s.reply(ctx, c, "This pull request has no environment to extend.")
	}
	if err != nil {
		return err
	}
	return s.updateComment(ctx, s.o.GitHub.Installation(c.InstallationID), cfg, env, nil)
}
