package promotion

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/stackkeys"
	"github.com/stagecoach/stagecoach/internal/store"
)

// EnvironmentWorker works EnvironmentArgs: it deploys the newest eligible queued commit of one
// environment, marks the older ones superseded, and repeats until nothing is queued.
type EnvironmentWorker struct {
	river.WorkerDefaults[EnvironmentArgs]
	Service *Service
}

// Work implements river.Worker: it works the environment's queue while holding its lease and looks
// at the queue again after letting go. A job that finds the lease taken ends at once.
func (w *EnvironmentWorker) Work(ctx context.Context, job *river.Job[EnvironmentArgs]) error {
	s, a := w.Service, job.Args
	log := jobs.Logger(ctx, s.o.Logger).With("repo", a.Repo, "environment", a.Environment)
	return feature.Converge(ctx, s.o.Leases, lease.Subject{Key: environmentLeaseKey(a.Repo, a.Environment), Logger: log,
		Pending: func(ctx context.Context) (bool, error) {
			queued, err := s.o.Records.QueuedPromotions(ctx, a.Repo, a.Environment)
			return len(queued) > 0, err
		},
		Work: func(ctx context.Context) error { return s.work(ctx, a) },
	}, "working the promotion queue failed; it is retried after a pause")
}

// Timeout implements river.Worker: a promotion runs as long as its operation's own timeout allows.
func (w *EnvironmentWorker) Timeout(*river.Job[EnvironmentArgs]) time.Duration { return -1 }

func (s *Service) work(ctx context.Context, a EnvironmentArgs) error {
	log := jobs.Logger(ctx, s.o.Logger).With("repo", a.Repo, "environment", a.Environment)
	gh := s.o.GitHub.Installation(a.InstallationID)
	for {
		queued, err := s.o.Records.QueuedPromotions(ctx, a.Repo, a.Environment)
		if err != nil || len(queued) == 0 {
			return err
		}
		loaded, err := feature.Config(ctx, s.o.Configs, a.InstallationID, a.Repo)
		if err != nil {
			return err
		}
		cfg := loaded.Config
		if cfg == nil {
			for _, p := range queued {
				if err := s.refuse(ctx, gh, p, []Refusal{{GatePermission, "the default branch has no valid `.stagecoach.yaml` any more; fix it (the config check on pull requests says how) and promote again."}}); err != nil {
					return err
				}
			}
			return nil
		}
		queued = Newest(queued)
		chosen := -1
		for i, p := range queued {
			refusals, err := s.runtimeGates(ctx, gh, cfg, p)
			if err != nil {
				return err
			}
			if len(refusals) == 0 {
				chosen = i
				break
			}
			if err := s.refuse(ctx, gh, p, refusals); err != nil {
				return err
			}
		}
		if chosen < 0 {
			continue
		}
		p := queued[chosen]
		for _, old := range queued[chosen+1:] {
			if err := s.supersede(ctx, gh, old, p); err != nil {
				return err
			}
		}
		log.Info("promoting", "sha", p.SHA, "trigger", p.Trigger, "promotion", p.ID, "stack", p.Stack, "pr", p.PR)
		if err := s.run(ctx, gh, cfg, loaded.Branch, p); err != nil {
			return err
		}
	}
}

// Newest orders queued promotions newest first: by request time, except that a merge whose
// parent is another queued commit is newer than that commit whatever the times say.
func Newest(queued []store.Promotion) []store.Promotion {
	out := slices.Clone(queued)
	for range len(out) * len(out) {
		moved := false
		for i := 0; i < len(out) && !moved; i++ {
			for j := i + 1; j < len(out); j++ {
				if out[j].ParentSHA != "" && out[j].ParentSHA == out[i].SHA {
					p := out[j]
					out = slices.Insert(slices.Delete(out, j, j+1), i, p)
					moved = true
					break
				}
			}
		}
		if !moved {
			break
		}
	}
	return out
}

// runtimeGates checks, when a promotion is about to run, the gates that may have changed since
// it was requested: a command's requester and approvals were checked when the command ran.
func (s *Service) runtimeGates(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, p store.Promotion) ([]Refusal, error) {
	if _, ok := cfg.Environment(p.Environment); !ok {
		return []Refusal{{GatePermission, fmt.Sprintf("`%s` is no longer an environment of this repository.", p.Environment)}}, nil
	}
	succeeded, err := s.o.Records.FirstSuccess(ctx, p.Repo, p.SHA)
	if err != nil {
		return nil, err
	}
	f := Facts{Config: cfg, Env: p.Environment, SHA: p.SHA, Succeeded: succeeded, Now: s.o.Now(), Rollback: p.Rollback,
		SkipPermission: p.Trigger != TriggerAPI, SkipApprovals: p.Trigger == TriggerComment || p.Trigger == TriggerMerge}
	ppl := newPeople(gh, p.Repo, cfg)
	if !f.SkipPermission {
		if f.Requester, err = ppl.get(ctx, p.Requester); err != nil {
			return nil, err
		}
	} else {
		f.Requester = Person{Login: p.Requester}
	}
	if !f.SkipApprovals {
		if f.Approvals, err = s.approvals(ctx, ppl, p.Repo, p.Environment, p.SHA); err != nil {
			return nil, err
		}
	}
	return Check(f), nil
}

// refuse finishes a queued promotion the gates turn down.
func (s *Service) refuse(ctx context.Context, gh githubapi.Client, p store.Promotion, refusals []Refusal) error {
	now := s.o.Now()
	p.Status, p.Reason, p.FinishedAt = store.PromotionRefused, Explain(refusals), now
	if p.StartedAt.IsZero() {
		p.StartedAt = now
	}
	if err := s.o.Records.UpdatePromotion(ctx, p); err != nil {
		return err
	}
	var gates []string
	for _, r := range refusals {
		gates = append(gates, string(r.Gate))
	}
	s.status(ctx, gh, p, "failure", "refused ("+strings.Join(gates, ", ")+"): "+refusals[0].Message)
	return s.comment(ctx, gh, p.Repo, p.PR, fmt.Sprintf("**Promotion of %s to `%s` refused.**\n\n%s", render.ShortSHA(p.SHA), p.Environment, p.Reason))
}

// supersede finishes an older queued promotion that a newer one replaces.
func (s *Service) supersede(ctx context.Context, gh githubapi.Client, old, by store.Promotion) error {
	now := s.o.Now()
	old.Status, old.Reason, old.FinishedAt = store.PromotionSuperseded, "superseded by "+by.SHA, now
	if old.StartedAt.IsZero() {
		old.StartedAt = now
	}
	if err := s.o.Records.UpdatePromotion(ctx, old); err != nil {
		return err
	}
	s.status(ctx, gh, old, "inactive", "superseded by "+render.ShortSHA(by.SHA))
	return s.comment(ctx, gh, old.Repo, old.PR, fmt.Sprintf("The promotion of %s to `%s` was superseded: a newer commit, %s, was queued for `%s` and is deployed instead.",
		render.ShortSHA(old.SHA), old.Environment, render.ShortSHA(by.SHA), old.Environment))
}

// Explain renders refusals as a list of plain sentences.
func Explain(refusals []Refusal) string {
	var b strings.Builder
	for _, r := range refusals {
		fmt.Fprintf(&b, "- **%s**: %s\n", r.Gate, r.Message)
	}
	return strings.TrimRight(b.String(), "\n")
}

// run previews and deploys one promotion of the default branch's commit, records the result and
// reports it.
func (s *Service) run(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, branch string, p store.Promotion) error {
	env, _ := cfg.Environment(p.Environment)
	if p.Status != store.PromotionRunning {
		p.Status, p.StartedAt = store.PromotionRunning, s.o.Now()
		if cur, _, err := s.o.Records.CurrentDeployment(ctx, p.Repo, p.Environment); err == nil {
			p.ReplacedSHA = cur
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := s.o.Records.UpdatePromotion(ctx, p); err != nil {
			return err
		}
	}
	s.status(ctx, gh, p, "in_progress", "deploying "+render.ShortSHA(p.SHA)+" to "+env.Name)
	res, err := s.deploy(ctx, gh, cfg, env, branch, &p)
	if ctx.Err() != nil {
		return fmt.Errorf("promoting %s to %s: %w", render.ShortSHA(p.SHA), env.Name, ctx.Err())
	}
	p.FinishedAt, p.LogID = s.o.Now(), res.LogID
	if err == nil && res.Succeeded {
		p.Status = store.PromotionSucceeded
		if o, ok := res.Outputs[env.URLOutput]; ok && !o.Secret {
			p.EnvURL = strings.Trim(o.Value, `"`)
		}
	} else {
		p.Status = store.PromotionFailed
		if err != nil {
			p.Reason = err.Error()
		} else {
			p.Reason = strings.Join(res.Errors, "; ")
		}
	}
	if err := s.o.Records.UpdatePromotion(ctx, p); err != nil {
		return err
	}
	if p.Status == store.PromotionSucceeded {
		s.status(ctx, gh, p, "success", "deployed "+render.ShortSHA(p.SHA)+" to "+env.Name)
	} else {
		s.status(ctx, gh, p, "failure", render.Clip("failed: "+p.Reason, 140))
	}
	if err := s.report(ctx, gh, env, p, res); err != nil {
		return err
	}
	if p.Status == store.PromotionSucceeded {
		return s.next(ctx, cfg, p)
	}
	return nil
}

// deploy previews the environment at the promotion's commit of branch (the default branch, which
// the config was read from), posts the preview, and runs up.
func (s *Service) deploy(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, env *repoconfig.Environment, branch string, p *store.Promotion) (engine.Result, error) {
	if s.o.Engine == nil {
		return engine.Result{}, errors.New("the Pulumi engine is not available on this bot; run `bot toolchain install` or set STAGECOACH_PULUMI_COMMAND")
	}
	owner, name := githubapi.SplitRepo(p.Repo)
	dir, err := s.o.Sources.Project(ctx, gh, owner, name, p.SHA, cfg.Project)
	if err != nil {
		return engine.Result{}, fmt.Errorf("fetching %s at %s: %w", cfg.Project, render.ShortSHA(p.SHA), err)
	}
	botConfig, err := s.o.Records.StackConfig(ctx, p.Repo, env.Stack)
	if err != nil {
		return engine.Result{}, err
	}
	values := map[string]engine.ConfigValue{}
	for k, v := range stackkeys.Operation(botConfig, p.SHA, branch) {
		values[k] = engine.ConfigValue{Value: v}
	}
	req := engine.Request{Program: engine.LocalProgram(dir), Stack: env.Stack, Config: values,
		Tags:    map[string]string{engine.TagRepo: p.Repo, engine.TagSHA: p.SHA, engine.TagRef: branch, engine.TagEnv: env.Name},
		Message: fmt.Sprintf("stagecoach: %s %s to %s (%s by %s)", verb(*p), render.ShortSHA(p.SHA), env.Name, p.Trigger, p.Requester)}
	prev, err := s.o.Engine.Preview(ctx, req)
	if err != nil {
		var op *engine.OperationError
		if errors.As(err, &op) {
			return op.Result, fmt.Errorf("preview failed: %s", strings.Join(op.Result.Errors, "; "))
		}
		return prev, fmt.Errorf("preview failed: %w", err)
	}
	posted := p.Preview != "" // taken up again after a crash: the preview was posted already
	p.Preview = render.Summary(prev)
	if err := s.o.Records.UpdatePromotion(ctx, *p); err != nil {
		return prev, err
	}
	if !posted {
		if err := s.comment(ctx, gh, p.Repo, p.PR, render.Markdown(prev, render.Options{
			Title: fmt.Sprintf("Preview of `%s` at %s", env.Name, render.ShortSHA(p.SHA)), LogURL: s.o.LogURL(prev.LogID)})); err != nil {
			return prev, err
		}
	}
	res, err := s.o.Engine.Up(ctx, req)
	if err != nil {
		var op *engine.OperationError
		if errors.As(err, &op) {
			return op.Result, nil
		}
		return res, fmt.Errorf("deploy failed: %w", err)
	}
	return res, nil
}

func verb(p store.Promotion) string {
	if p.Rollback {
		return "roll back to"
	}
	return "promote"
}

// report posts the result of a promotion on its pull request.
func (s *Service) report(ctx context.Context, gh githubapi.Client, env *repoconfig.Environment, p store.Promotion, res engine.Result) error {
	what := "Promotion"
	if p.Rollback {
		what = "Rollback"
	}
	title := fmt.Sprintf("%s of %s to `%s`", what, render.ShortSHA(p.SHA), env.Name)
	if res.Kind == "" {
		body := fmt.Sprintf("**%s failed.**\n\n%s", title, p.Reason)
		return s.comment(ctx, gh, p.Repo, p.PR, body)
	}
	return s.comment(ctx, gh, p.Repo, p.PR, render.Markdown(res, render.Options{Title: title, LogURL: s.o.LogURL(res.LogID)}))
}

// next queues the following stage of a labelled promotion that has not reached its target.
func (s *Service) next(ctx context.Context, cfg *repoconfig.Config, p store.Promotion) error {
	if p.Target == "" || strings.EqualFold(p.Target, p.Environment) {
		return nil
	}
	i := slices.IndexFunc(cfg.Environments, func(e repoconfig.Environment) bool { return strings.EqualFold(e.Name, p.Environment) })
	if i < 0 || i+1 >= len(cfg.Environments) {
		return nil
	}
	n := cfg.Environments[i+1]
	return s.request(ctx, cfg, store.Promotion{ID: p.ID + ">" + strings.ToLower(n.Name), Repo: p.Repo, InstallationID: p.InstallationID,
		Environment: n.Name, SHA: p.SHA, Trigger: p.Trigger, Requester: p.Requester, PR: p.PR, Target: p.Target})
}
