package schedule

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// Override bounds.
const (
	defaultWake = 2 * time.Hour
	maxOverride = 7 * 24 * time.Hour
)

func (s *Scheduler) wake(ctx context.Context, c command.Command) error {
	return s.override(ctx, c, Awake)
}
func (s *Scheduler) sleep(ctx context.Context, c command.Command) error {
	return s.override(ctx, c, Asleep)
}

// override handles `/wake <env> [for <duration>]` and `/sleep <env> [for <duration>]`. The
// environment "pr" (or none) means this pull request's own environment.
func (s *Scheduler) override(ctx context.Context, c command.Command, state State) error {
	loaded, ok, err := s.loadConfig(ctx, c.InstallationID, c.Repo)
	if err != nil {
		return err
	}
	if !ok {
		return command.Usagef("this repository has no valid %s, so nothing has a schedule.", repoconfig.FileName)
	}
	cfg := loaded.Config
	env, rest := "pr", c.Args
	if len(rest) > 0 && rest[0] != "for" {
		env, rest = rest[0], rest[1:]
	}
	var d time.Duration
	switch {
	case len(rest) == 0:
	case len(rest) == 2 && rest[0] == "for":
		if d, err = repoconfig.ParseDuration(rest[1]); err != nil || d <= 0 {
			return command.Usagef("%s is not a duration such as 2h, 90m or 1d.", command.Code(rest[1]))
		}
		if d > maxOverride {
			return command.Usagef("an override lasts at most %s.", repoconfig.FormatDuration(maxOverride))
		}
	default:
		return command.Usagef("I did not understand %s.", command.Code(strings.Join(rest, " ")))
	}
	key, plan, err := s.overrideTarget(cfg, env, c.PR)
	if err != nil {
		return err
	}
	// The override and its confirmation are decided and recorded once per comment: a retry (the
	// confirmation failed to post) neither sets the override again nor moves its end.
	body, err := c.Once(ctx, "override", func(ctx context.Context) (string, error) {
		now := s.o.Now()
		if d == 0 {
			d = defaultWake
			if state == Asleep {
				// Sleep until the schedule would wake it anyway; half a day when it never would.
				d = 12 * time.Hour
				if next, ok := plan.Wake.Next(now); ok && next.Sub(now) <= maxOverride {
					d = next.Sub(now)
				}
			}
		}
		o := store.SleepOverride{Repo: c.Repo, Environment: key, State: string(state), Until: now.Add(d), SetBy: c.Author, SetAt: now}
		if err := s.o.Store.SetSleepOverride(ctx, o); err != nil {
			return "", err
		}
		verb := "wakes"
		if state == Asleep {
			verb = "goes to sleep"
		}
		return fmt.Sprintf("`%s` %s now and stays %s until %s (set by @%s); then its schedule takes over.",
			key, verb, state, o.Until.In(plan.Sleep.Location()).Format("Mon 2 Jan 15:04 MST"), c.Author), nil
	})
	if err != nil {
		return err
	}
	if _, err := s.o.Jobs.Insert(ctx, TickArgs{Repo: c.Repo}, nil); err != nil {
		return fmt.Errorf("queueing the schedule tick of %s: %w", c.Repo, err)
	}
	return c.Reply(ctx, body)
}

// overrideTarget resolves the environment a command names to its override key and plan.
func (s *Scheduler) overrideTarget(cfg *repoconfig.Config, env string, pr int) (string, Plan, error) {
	name := env
	if env == "pr" {
		name = repoconfig.EphemeralScheduleKey
	}
	if e, ok := cfg.Environment(name); ok && e.Production {
		return "", Plan{}, command.Usagef("%s is a production environment: production never sleeps, so it has no schedule to override.", command.Code(e.Name))
	}
	var known []string
	for _, sc := range cfg.Schedules {
		known = append(known, sc.Environment)
		if !strings.EqualFold(sc.Environment, name) {
			continue
		}
		p, err := NewPlan(sc)
		if err != nil {
			return "", Plan{}, err
		}
		if name == repoconfig.EphemeralScheduleKey {
			return cfg.Ephemeral.StackName(pr), p, nil
		}
		e, _ := cfg.Environment(sc.Environment)
		return e.Name, p, nil
	}
	if len(known) == 0 {
		return "", Plan{}, command.Usagef("no environment of this repository has a sleep schedule.")
	}
	return "", Plan{}, command.Usagef("%s has no sleep schedule; these do: %s (`pr` is this pull request's environment).", command.Code(env), strings.Join(known, ", "))
}
