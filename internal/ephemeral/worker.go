package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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

// PRWorker works PRArgs.
type PRWorker struct {
	river.WorkerDefaults[PRArgs]
	Service *Service
}

// Work implements river.Worker: it converges the PR's environment to what its row wants while
// holding the PR's lease, and looks at the row again after letting go, so a push recorded while it
// worked is deployed by this job or by the one holding the lease then. A job that finds the lease
// taken ends at once. A failure is recorded in the row and retried by Resume after a pause.
func (w *PRWorker) Work(ctx context.Context, job *river.Job[PRArgs]) error {
	s, a := w.Service, job.Args
	log := jobs.Logger(ctx, s.o.Logger).With("repo", a.Repo, "pr", a.PR)
	return feature.Converge(ctx, s.o.Leases, lease.Subject{Key: prLeaseKey(a.Repo, a.PR), Logger: log,
		Pending: func(ctx context.Context) (bool, error) {
			env, err := s.o.Records.PREnvironment(ctx, a.Repo, a.PR)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return needsWork(env), err
		},
		Work: func(ctx context.Context) error { return s.reconcile(ctx, a) },
	}, "reconciling the PR environment failed; it is retried after a pause")
}

// Timeout implements river.Worker: an operation runs as long as its own timeout allows
// (engine.Config.OperationTimeout), not River's default of one minute.
func (w *PRWorker) Timeout(*river.Job[PRArgs]) time.Duration { return -1 }

// prLeaseKey names the lease of one PR's environment.
func prLeaseKey(repo string, pr int) string { return fmt.Sprintf("ephemeral:%s#%d", repo, pr) }

// needsWork reports whether the PR's row wants something its job can do now: a deploy of a head
// newer than what is deployed or failed (unless it waits for a slot), a destroy, a preview, or a
// comment saying why nothing happens yet.
func needsWork(e store.PREnvironment) bool {
	switch {
	case e.Want == store.WantDestroy, e.PreviewWanted:
		return true
	case e.Want == store.WantDeploy:
		return e.DesiredSeq > e.DeployedSeq && e.DesiredSeq > e.FailedSeq && e.Status != store.PRQueued
	}
	return e.Want == store.WantNothing && e.CommentID == 0 && e.Summary != "" && e.Status != store.PRDestroyed
}

// Resume queues a job for every PR environment that needs work nobody is doing: a replica crashed
// holding it, a retry pause is over, or the job queued with the change was lost.
func (s *Service) Resume(ctx context.Context, now time.Time) error {
	pending, err := s.o.Records.PendingPREnvironments(ctx)
	if err != nil {
		return err
	}
	for _, env := range pending {
		if !needsWork(env) {
			continue
		}
		key := prLeaseKey(env.Repo, env.PR)
		free, err := lease.Free(ctx, s.o.Leases, key)
		if err != nil {
			return err
		}
		if free && s.kicks.Due(key, now) {
			if err := s.enqueue(ctx, env.Repo, env.PR, env.InstallationID); err != nil {
				return err
			}
		}
	}
	return nil
}

// errNoEngine fails jobs on a bot without the Pulumi CLI.
var errNoEngine = errors.New("the Pulumi engine is not available on this bot; run `bot toolchain install` or set STAGECOACH_PULUMI_COMMAND")

// reconcile brings one PR's environment to what its row wants, then looks again: whatever was
// pushed meanwhile is deployed next, newest head only.
func (s *Service) reconcile(ctx context.Context, a PRArgs) error {
	log := jobs.Logger(ctx, s.o.Logger).With("repo", a.Repo, "pr", a.PR)
	gh := s.o.GitHub.Installation(a.InstallationID)
	for range 10 {
		env, err := s.o.Records.PREnvironment(ctx, a.Repo, a.PR)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		again, err := s.reconcileStep(ctx, gh, a, log.With("stack", env.Stack), env)
		if err != nil || !again {
			return err
		}
	}
	return nil
}

// step is what a PR environment's job does next with its row.
type step int

const (
	stepNone    step = iota // the row wants nothing the job can do
	stepDestroy             // destroy the environment (PR closed, /destroy, expired, an orphan)
	stepDeploy              // deploy the desired head, newer than what is deployed or failed
	stepPreview             // answer a /preview
	stepExplain             // nothing to deploy yet: the comment says why (a draft, a fork waiting for approval…)
)

// nextStep decides what the job does with the row. Destroying comes first, then deploying, then
// previewing; after a step the job reads the row again and decides anew.
func nextStep(env store.PREnvironment) step {
	switch {
	case env.Want == store.WantDestroy:
		return stepDestroy
	case deployable(env):
		return stepDeploy
	case env.PreviewWanted:
		return stepPreview
	case env.Want == store.WantNothing && env.CommentID == 0 && env.Summary != "",
		env.Fork && env.HeadSHA != env.ApprovedSHA && env.Status != store.PRDestroyed:
		return stepExplain
	}
	return stepNone
}

// deployable reports whether the row wants a head deployed that is newer than both the deployed
// and the last failed one.
func deployable(env store.PREnvironment) bool {
	return env.Want == store.WantDeploy && env.DesiredSeq > env.DeployedSeq && env.DesiredSeq > env.FailedSeq
}

// queuedSummary tells a PR waiting for a slot where it stands.
func queuedSummary(maxActive, position int) string {
	return fmt.Sprintf("Waiting for a free environment: this repository allows %d at once and this pull request is number %d in line.",
		maxActive, position)
}

// reconcileStep takes the row's next step; again is true when the row is to be read and decided
// on once more.
func (s *Service) reconcileStep(ctx context.Context, gh githubapi.Client, a PRArgs, log *slog.Logger, env store.PREnvironment) (again bool, err error) {
	next := nextStep(env)
	if next == stepNone {
		return false, nil
	}
	if next == stepDestroy {
		return true, s.teardown(ctx, gh, env)
	}
	cfg, err := s.config(ctx, a.InstallationID, a.Repo)
	if err != nil || cfg == nil {
		return false, err
	}
	switch next {
	case stepDeploy:
		return s.deployHead(ctx, gh, log, cfg, env)
	case stepPreview:
		return true, s.previewOnly(ctx, gh, cfg, env)
	}
	return false, s.updateComment(ctx, gh, cfg, env, nil)
}

// deployHead deploys the PR's current head on a slot, or queues the PR when none is free.
func (s *Service) deployHead(ctx context.Context, gh githubapi.Client, log *slog.Logger, cfg *repoconfig.Config, env store.PREnvironment) (again bool, err error) {
	// Newest commit wins: deploy what the PR's head is now, whatever order the webhooks came in.
	fresh, branch, open, err := s.refreshHead(ctx, gh, env)
	if err != nil {
		return false, err
	}
	if !open {
		return true, s.close(ctx, fresh.Repo, fresh.PR)
	}
	if !deployable(fresh) {
		return true, nil
	}
	env = fresh
	slot, position, err := s.o.Records.ClaimSlot(ctx, env.Repo, env.PR, cfg.Ephemeral.MaxActive, cfg.Ephemeral.SlotPool)
	if err != nil {
		return false, err
	}
	if slot < 0 {
		env, err = s.set(ctx, env, func(e *store.PREnvironment) {
			e.Status = store.PRQueued
			e.Summary = queuedSummary(cfg.Ephemeral.MaxActive, position)
		})
		if err != nil {
			return false, err
		}
		return false, s.updateComment(ctx, gh, cfg, env, nil)
	}
	log.Info("deploying", "sha", env.DesiredSHA, "slot", slot)
	return true, s.deploy(ctx, gh, cfg, env, slot, branch)
}

// refreshHead reads the PR's head from GitHub and records it (in push order) when it is newer
// than the row knows: a deploy always takes the current head, never an older one. A fork's
// new head is not approved, so nothing is wanted until a writer's /deploy. branch is the PR's
// head branch; open is false for a closed PR.
func (s *Service) refreshHead(ctx context.Context, gh githubapi.Client, env store.PREnvironment) (_ store.PREnvironment, branch string, open bool, _ error) {
	owner, name := githubapi.SplitRepo(env.Repo)
	pr, _, err := gh.GetPullRequest(ctx, owner, name, env.PR)
	if err != nil {
		return env, "", false, fmt.Errorf("reading %s#%d: %w", env.Repo, env.PR, err)
	}
	branch = pr.GetHead().GetRef()
	if pr.GetState() != "open" {
		return env, branch, false, nil
	}
	head := pr.GetHead().GetSHA()
	if head == "" || head == env.DesiredSHA {
		return env, branch, true, nil
	}
	env, err = s.set(ctx, env, func(e *store.PREnvironment) {
		if head != e.HeadSHA {
			e.HeadSHA, e.HeadSeq, e.HeadAt = head, e.HeadSeq+1, pr.GetUpdatedAt().Time
		}
		if e.Fork && e.ApprovedSHA != head {
			// The approved commit is no longer the head: keep what runs, deploy nothing new.
			e.DesiredSHA, e.DesiredSeq = e.DeployedSHA, e.DeployedSeq
			if e.DeployedSeq == 0 {
				e.Want = store.WantNothing
			}
			return
		}
		e.DesiredSHA, e.DesiredSeq = head, e.HeadSeq
	})
	return env, branch, true, err
}

// set changes the PR's row with fn and returns it.
func (s *Service) set(ctx context.Context, env store.PREnvironment, fn func(*store.PREnvironment)) (store.PREnvironment, error) {
	return s.o.Records.UpdatePREnvironment(ctx, env.Repo, env.PR, nil, func(e *store.PREnvironment) error {
		fn(e)
		return nil
	})
}

// request builds the engine request of a deploy or preview of sha on the PR's head branch: the
// template's config, the bot-set keys (stagecoach:pr, stagecoach:slot, a schedule's sleep
// state…), the commit and the branch (stagecoach:commit, stagecoach:ref) and the tags.
func (s *Service) request(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, env store.PREnvironment, sha, ref string) (engine.Request, string, error) {
	owner, name := githubapi.SplitRepo(env.Repo)
	dir, err := s.o.Sources.Project(ctx, gh, owner, name, sha, cfg.Project)
	if err != nil {
		return engine.Request{}, "", fmt.Errorf("fetching %s at %s: %w", cfg.Project, render.ShortSHA(sha), err)
	}
	project, err := engine.ProjectName(dir)
	if err != nil {
		return engine.Request{}, "", err
	}
	values, err := engine.ConfigFile(dir, cfg.Ephemeral.ConfigTemplate)
	if err != nil {
		return engine.Request{}, "", err
	}
	bot, err := s.o.Records.StackConfig(ctx, env.Repo, env.Stack)
	if err != nil {
		return engine.Request{}, "", err
	}
	for k, v := range stackkeys.Operation(bot, sha, ref) {
		values[k] = engine.ConfigValue{Value: v}
	}
	return engine.Request{Program: engine.LocalProgram(dir), Stack: env.Stack, Config: values,
		Tags: map[string]string{engine.TagRepo: env.Repo, engine.TagPR: strconv.Itoa(env.PR), engine.TagSHA: sha,
			engine.TagRef: ref, engine.TagEnv: env.Stack},
		Message: fmt.Sprintf("stagecoach: %s#%d at %s", env.Repo, env.PR, render.ShortSHA(sha))}, project, nil
}

// recordKeys records the PR stack's own bot-set keys, which every operation on it merges.
func (s *Service) recordKeys(ctx context.Context, env store.PREnvironment, slot int) error {
	return s.o.Records.SetStackConfig(ctx, env.Repo, env.Stack, map[string]string{
		stackkeys.PR: strconv.Itoa(env.PR), stackkeys.Slot: strconv.Itoa(slot)})
}

// opFailure turns an engine error into a result to render and a reason.
func opFailure(res engine.Result, err error) (engine.Result, string) {
	var op *engine.OperationError
	if errors.As(err, &op) {
		return op.Result, strings.Join(op.Result.Errors, "; ")
	}
	return res, err.Error()
}

// deploy previews and deploys the PR's desired head, on branch, on its slot.
func (s *Service) deploy(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, env store.PREnvironment, slot int, branch string) error {
	sha, seq := env.DesiredSHA, env.DesiredSeq
	if err := s.recordKeys(ctx, env, slot); err != nil {
		return err
	}
	env, err := s.set(ctx, env, func(e *store.PREnvironment) { e.Status, e.LastError = store.PRPreviewing, "" })
	if err != nil {
		return err
	}
	_ = s.updateComment(ctx, gh, cfg, env, nil) // progress only; the final update reports errors
	check := s.startCheck(ctx, gh, env, sha)
	fail := func(res engine.Result, reason string) error {
		s.metrics.observe("deploy", false)
		env, err := s.set(ctx, env, func(e *store.PREnvironment) {
			e.Status, e.LastError, e.FailedSeq = store.PRFailed, reason, seq
			if res.Kind != "" {
				e.Summary = render.Summary(res)
			}
		})
		if err != nil {
			return err
		}
		s.finishCheck(ctx, gh, env, check, res, false, reason)
		s.deploymentStatus(ctx, gh, env, "failure", render.Clip("failed: "+reason, 140))
		return s.updateComment(ctx, gh, cfg, env, &res)
	}
	if s.o.Engine == nil {
		return fail(engine.Result{}, errNoEngine.Error())
	}
	req, project, err := s.request(ctx, gh, cfg, env, sha, branch)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fail(engine.Result{}, err.Error())
	}
	if env, err = s.set(ctx, env, func(e *store.PREnvironment) { e.Project = project }); err != nil {
		return err
	}
	prev, err := s.o.Engine.Preview(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		res, reason := opFailure(prev, err)
		return fail(res, "preview failed: "+reason)
	}
	s.metrics.observe("preview", true)
	s.progressCheck(ctx, gh, env, check, prev)
	env, err = s.set(ctx, env, func(e *store.PREnvironment) { e.Status, e.Summary = store.PRDeploying, render.Summary(prev) })
	if err != nil {
		return err
	}
	if err := s.ensureDeployment(ctx, gh, &env, sha); err != nil {
		return err
	}
	s.deploymentStatus(ctx, gh, env, "in_progress", "deploying "+render.ShortSHA(sha))
	_ = s.updateComment(ctx, gh, cfg, env, &prev) // progress only
	res, err := s.o.Engine.Up(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		res, reason := opFailure(res, err)
		return fail(res, "deploy failed: "+reason)
	}
	s.metrics.observe("deploy", true)
	now := s.o.Now()
	env, err = s.set(ctx, env, func(e *store.PREnvironment) { deployed(e, cfg.Ephemeral, res, sha, seq, now) })
	if err != nil {
		return err
	}
	s.finishCheck(ctx, gh, env, check, res, true, "")
	s.deploymentStatus(ctx, gh, env, "success", "deployed "+render.ShortSHA(sha))
	return s.updateComment(ctx, gh, cfg, env, &res)
}

// deployed is the row once sha (push order seq) is up: ready, its URL output shown unless secret,
// and its idle time counted anew. A deploy of an older head, finished after a newer one, does
// not take the deployed head back.
func deployed(e *store.PREnvironment, ec repoconfig.Ephemeral, res engine.Result, sha string, seq int64, now time.Time) {
	e.Status, e.Summary, e.LastError = store.PRReady, render.Summary(res), ""
	if seq > e.DeployedSeq {
		e.DeployedSHA, e.DeployedSeq = sha, seq
	}
	if e.FirstDeployedAt.IsZero() {
		e.FirstDeployedAt = now
	}
	if o, ok := res.Outputs[ec.URLOutput]; ok && !o.Secret {
		e.EnvURL = strings.Trim(o.Value, `"`)
	}
	e.ExpiresAt, e.Warned = now.Add(ec.TTL), false
}

// previewOnly answers /preview: a preview of the PR's head, shown in the comment.
func (s *Service) previewOnly(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, env store.PREnvironment) error {
	env, err := s.set(ctx, env, func(e *store.PREnvironment) { e.PreviewWanted = false })
	if err != nil {
		return err
	}
	if env.Fork && env.ApprovedSHA != env.HeadSHA {
		// Never run a fork's code unapproved, preview or not.
		env, err = s.set(ctx, env, func(e *store.PREnvironment) {
			e.LastError = "preview refused: the fork's head " + render.ShortSHA(e.HeadSHA) + " is not approved; a writer's `/deploy` approves it"
		})
		if err != nil {
			return err
		}
		return s.updateComment(ctx, gh, cfg, env, nil)
	}
	if s.o.Engine == nil {
		return errNoEngine
	}
	slot := env.Slot
	if slot < 0 {
		slot = 0
	}
	if err := s.recordKeys(ctx, env, slot); err != nil {
		return err
	}
	owner, name := githubapi.SplitRepo(env.Repo)
	pr, _, err := gh.GetPullRequest(ctx, owner, name, env.PR)
	if err != nil {
		return fmt.Errorf("reading the branch of %s#%d: %w", env.Repo, env.PR, err)
	}
	req, _, err := s.request(ctx, gh, cfg, env, env.HeadSHA, pr.GetHead().GetRef())
	if err != nil {
		return err
	}
	res, err := s.o.Engine.Preview(ctx, req)
	s.metrics.observe("preview", err == nil)
	reason := ""
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		res, reason = opFailure(res, err)
	}
	env, err = s.set(ctx, env, func(e *store.PREnvironment) {
		e.Summary = render.Summary(res) + " (/preview of " + render.ShortSHA(env.HeadSHA) + ")"
		if reason != "" {
			e.LastError = "preview failed: " + reason
		}
	})
	if err != nil {
		return err
	}
	return s.updateComment(ctx, gh, cfg, env, &res)
}

// teardown destroys the environment, removes the stack, marks the deployment inactive and frees
// the slot for the next waiting PR. A failure stays in the row and the comment, and the job is
// retried with backoff until it succeeds.
func (s *Service) teardown(ctx context.Context, gh githubapi.Client, env store.PREnvironment) error {
	cfg, err := s.config(ctx, env.InstallationID, env.Repo)
	if err != nil {
		return err
	}
	destroyed := false // a stack existed and is gone now
	if mayHaveStack(env) {
		if env, destroyed, err = s.destroyStack(ctx, gh, cfg, env); err != nil {
			return err
		}
	}
	if err := s.o.Records.DeleteStackConfig(ctx, env.Repo, env.Stack); err != nil {
		return err
	}
	wasActive := env.Slot >= 0
	env, err = s.set(ctx, env, func(e *store.PREnvironment) { tornDown(e, destroyed) })
	if err != nil {
		return err
	}
	s.deploymentStatus(ctx, gh, env, "inactive", "destroyed")
	if cfg != nil && (env.CommentID != 0 || env.Status == store.PRDestroyed) {
		if err := s.updateComment(ctx, gh, cfg, env, nil); err != nil {
			return err
		}
	}
	if wasActive {
		return s.startWaiting(ctx, env.Repo)
	}
	return nil
}

// mayHaveStack reports whether a stack may exist to destroy: the PR holds a slot, something was
// deployed, or a project is known (an orphan the sweeper found in the backend).
func mayHaveStack(env store.PREnvironment) bool {
	return env.Slot >= 0 || env.DeployedSeq > 0 || env.Project != ""
}

// destroyStack marks the row destroying and destroys its stack; destroyed is true when a stack
// existed and is gone. A failure is recorded in the row and the comment and returned, so the job
// is retried.
func (s *Service) destroyStack(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, env store.PREnvironment) (_ store.PREnvironment, destroyed bool, _ error) {
	env, err := s.set(ctx, env, func(e *store.PREnvironment) { e.Status = store.PRDestroying })
	if err != nil {
		return env, false, err
	}
	if cfg != nil {
		_ = s.updateComment(ctx, gh, cfg, env, nil) // progress only
	}
	if s.o.Engine == nil {
		return env, false, errNoEngine
	}
	if env.Project == "" {
		return env, false, nil
	}
	res, err := s.o.Engine.Destroy(ctx, engine.Request{Program: engine.StateOnly(env.Project), Stack: env.Stack,
		Message: fmt.Sprintf("stagecoach: %s#%d closed", env.Repo, env.PR)})
	if err == nil || errors.Is(err, engine.ErrStackNotFound) {
		s.metrics.observe("destroy", true)
		return env, err == nil, nil
	}
	s.metrics.observe("destroy", false)
	if ctx.Err() != nil {
		return env, false, err
	}
	_, reason := opFailure(res, err)
	failed, serr := s.set(ctx, env, func(e *store.PREnvironment) { e.LastError = "destroy failed, retrying: " + reason })
	if serr == nil && cfg != nil {
		_ = s.updateComment(ctx, gh, cfg, failed, nil) // the retry matters more
	}
	return env, false, fmt.Errorf("destroying %s: %s", env.Stack, reason)
}

// tornDown is the row once its environment is gone: no slot, nothing deployed or wanted, and a
// later deploy starts after the last head seen with a new deployment and check run.
func tornDown(e *store.PREnvironment, destroyed bool) {
	// An orphan the sweeper found in the backend has neither slot nor deploy record.
	if e.DeployedSeq > 0 || e.Slot >= 0 || destroyed {
		e.Status = store.PRDestroyed
	}
	e.Want, e.Slot, e.QueuedAt, e.LastError, e.EnvURL = store.WantNothing, -1, time.Time{}, "", ""
	e.DeployedSHA, e.DeployedSeq, e.FailedSeq, e.PreviewWanted = "", 0, 0, false
	e.DeploymentSHA, e.CheckSHA = "", "" // a later deploy gets a new deployment and check run
	// A later deploy starts after the last head seen.
	e.DesiredSeq = e.HeadSeq
	e.Summary = ""
}

// startWaiting gives the first PR waiting for a slot its job.
func (s *Service) startWaiting(ctx context.Context, repo string) error {
	waiting, err := s.o.Records.WaitingPREnvironments(ctx, repo)
	if err != nil {
		return err
	}
	for _, w := range waiting {
		if err := s.enqueue(ctx, w.Repo, w.PR, w.InstallationID); err != nil {
			return err
		}
	}
	return nil
}
