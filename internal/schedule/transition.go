package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/stackkeys"
	"github.com/stagecoach/stagecoach/internal/store"
)

// TransitionArgs puts one stack to sleep or wakes it.
type TransitionArgs struct {
	InstallationID int64  `json:"installation_id"`
	Repo           string `json:"repo"`
	// Environment is the environment's name, or the PR stack for PR environments.
	Environment string `json:"environment"`
	Stack       string `json:"stack"`
	// State is the state to apply.
	State State `json:"state"`
	// Reason is why, for logs.
	Reason string `json:"reason,omitempty"`
}

// Kind implements river.JobArgs.
func (TransitionArgs) Kind() string { return "schedule_transition" }

// InsertOpts: transitions are not unique in the queue. A stack's lease keeps one at a time across
// replicas, and each re-checks the desired and the applied state under it, so ticks on several
// replicas or in quick succession apply a transition once. Failures pause the stack's lease and
// the next tick after the pause queues the transition again.
func (TransitionArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// transitionLeaseKey names the lease of one stack's sleep transitions.
func transitionLeaseKey(repo, stack string) string { return "schedule:" + repo + "/" + stack }

type transitionWorker struct {
	river.WorkerDefaults[TransitionArgs]
	s *Scheduler
}

// Work re-checks the desired state (level-triggered: a stale transition does nothing), then sets
// the sleep key and runs an update through the engine, which waits for any operation in flight
// on the stack.
func (w *transitionWorker) Work(ctx context.Context, job *river.Job[TransitionArgs]) error {
	a := job.Args
	log := jobs.Logger(ctx, w.s.o.Logger).With("repo", a.Repo, "stack", a.Stack, "environment", a.Environment, "state", a.State)
	err := lease.Converge(ctx, w.s.o.Store, lease.Subject{Key: transitionLeaseKey(a.Repo, a.Stack), Logger: log,
		Pending: func(context.Context) (bool, error) { return false, nil }, // the next tick looks again
		Work:    func(ctx context.Context) error { return w.transition(ctx, a, log) },
	})
	if err != nil && ctx.Err() == nil {
		log.Warn("a sleep transition failed; the next tick after a pause tries again", "error", err)
		return nil
	}
	return err
}

// Timeout implements river.Worker: the update runs as long as its operation's own timeout allows.
func (w *transitionWorker) Timeout(*river.Job[TransitionArgs]) time.Duration { return -1 }

func (w *transitionWorker) transition(ctx context.Context, a TransitionArgs, log *slog.Logger) error {
	s := w.s
	loaded, ok, err := s.loadConfig(ctx, a.InstallationID, a.Repo)
	if err != nil || !ok {
		return err
	}
	targets, err := s.targets(ctx, a.Repo, loaded.Config)
	if err != nil {
		return err
	}
	var t *target
	for i := range targets {
		if targets[i].env == a.Environment && targets[i].stack == a.Stack {
			t = &targets[i]
		}
	}
	if t == nil {
		log.Info("schedule no longer governs this stack; nothing to do")
		return nil
	}
	overrides, err := s.o.Store.SleepOverrides(ctx, a.Repo)
	if err != nil {
		return err
	}
	if d := s.desired(*t, overrides); d.State != a.State {
		log.Info("transition is stale; the desired state changed", "desired", d.State)
		return nil
	}
	applied, err := s.applied(ctx, a.Repo, *t)
	if err != nil {
		return err
	}
	if applied == a.State {
		return nil
	}
	if err := s.apply(ctx, a, *t, loaded); err != nil {
		return fmt.Errorf("putting %s of %s %s: %w", a.Stack, a.Repo, a.State, err)
	}
	log.Info("environment "+string(a.State), "reason", a.Reason)
	return nil
}

// apply records the new sleep key, then updates the stack at the commit it runs.
func (s *Scheduler) apply(ctx context.Context, a TransitionArgs, t target, loaded repoconfig.Loaded) error {
	key := t.plan.ConfigKey
	overlay, err := s.o.Store.StackConfig(ctx, a.Repo, a.Stack)
	if err != nil {
		return err
	}
	prev, err := s.o.Store.SleepState(ctx, a.Repo, a.Environment, a.Stack)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	next := store.SleepState{Repo: a.Repo, Environment: a.Environment, Stack: a.Stack, State: string(a.State), ChangedAt: s.o.Now()}
	change := map[string]string{}
	if a.State == Asleep {
		// Remember what the key was, so waking restores exactly that.
		next.PreviousValue, next.HadValue = overlay[key], overlay[key] != ""
		change[key] = "true"
	} else {
		next.PreviousValue, next.HadValue = prev.PreviousValue, prev.HadValue
		change[key] = prev.PreviousValue // "" removes the key: the program's own default applies
	}
	// The key is recorded first: a deploy by another feature that starts now keeps the new state.
	if err := s.o.Store.SetStackConfig(ctx, a.Repo, a.Stack, change); err != nil {
		return err
	}
	if s.o.Engine == nil {
		return errors.New("the Pulumi engine is not available: run `bot toolchain install` or set STAGECOACH_PULUMI_COMMAND")
	}
	if err := s.update(ctx, a, t, loaded); err != nil {
		return err
	}
	return s.o.Store.SetSleepState(ctx, next)
}

// update runs `pulumi up` on the stack at the commit it was last deployed from, with the bot's
// config keys. A stack that was never deployed is left alone: its first deploy comes up in the
// recorded state.
func (s *Scheduler) update(ctx context.Context, a TransitionArgs, t target, loaded repoconfig.Loaded) error {
	owner, name := githubapi.SplitRepo(a.Repo)
	gh := s.o.GitHub.Installation(a.InstallationID)
	cfg := loaded.Config
	// The project's name comes from the default branch's Pulumi.yaml.
	head, err := s.o.Source.Project(ctx, gh, owner, name, loaded.SHA, cfg.Project)
	if err != nil {
		return err
	}
	project, err := engine.ProjectName(head)
	if err != nil {
		return err
	}
	tags, err := s.o.Engine.Tags(ctx, engine.Request{Program: engine.StateOnly(project), Stack: a.Stack})
	if errors.Is(err, engine.ErrStackNotFound) {
		jobs.Logger(ctx, s.o.Logger).Info("stack not deployed yet; its first deploy will honour the recorded state", "stack", a.Stack)
		return nil
	}
	if err != nil {
		return err
	}
	sha := tags[engine.TagSHA]
	if sha == "" {
		return fmt.Errorf("stack %s has no %s tag: it was not deployed by stagecoach, so the commit to update it from is unknown", a.Stack, engine.TagSHA)
	}
	dir, err := s.o.Source.Project(ctx, gh, owner, name, sha, cfg.Project)
	if err != nil {
		return err
	}
	values := map[string]engine.ConfigValue{}
	if t.ephemeral {
		tmpl, err := engine.ConfigFile(dir, cfg.Ephemeral.ConfigTemplate)
		if err != nil {
			return err
		}
		values = tmpl
	}
	overlay, err := s.o.Store.StackConfig(ctx, a.Repo, a.Stack)
	if err != nil {
		return err
	}
	// The stack keeps the commit and branch it runs; a stack deployed before stagecoach:ref was
	// tagged gets the default branch.
	ref := tags[engine.TagRef]
	if ref == "" {
		ref = loaded.Branch
	}
	for k, v := range stackkeys.Operation(overlay, sha, ref) {
		values[k] = engine.ConfigValue{Value: v}
	}
	verb := "wake"
	if a.State == Asleep {
		verb = "sleep"
	}
	_, err = s.o.Engine.Up(ctx, engine.Request{Program: engine.LocalProgram(dir), Stack: a.Stack, Config: values,
		Message: fmt.Sprintf("stagecoach: scheduled %s (%s)", verb, a.Reason)})
	return err
}
