package ephemeral

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// CheckName is the name of the check run on every deployed head commit.
const CheckName = "stagecoach / pr-environment"

// updateComment writes the PR's one comment: edited in place, found again by its marker after a
// restart, created when it does not exist.
func (s *Service) updateComment(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, env store.PREnvironment, res *engine.Result) error {
	body := commentBody(cfg.Ephemeral, env, res, s.o.Now(), s.o.LogURL(resLog(res)))
	owner, name := githubapi.SplitRepo(env.Repo)
	id := env.CommentID
	if id == 0 {
		found, err := s.findComment(ctx, gh, env)
		if err != nil {
			return err
		}
		id = found
	}
	if id != 0 {
		_, _, err := gh.EditComment(ctx, owner, name, id, &github.IssueComment{Body: github.String(body)})
		if githubapi.IsNotFound(err) {
			id = 0 // deleted by someone: write a new one
		} else if err != nil {
			return fmt.Errorf("updating the comment on %s#%d: %w", env.Repo, env.PR, err)
		}
	}
	if id == 0 {
		c, _, err := gh.CreateComment(ctx, owner, name, env.PR, &github.IssueComment{Body: github.String(body)})
		if err != nil {
			return fmt.Errorf("commenting on %s#%d: %w", env.Repo, env.PR, err)
		}
		id = c.GetID()
	}
	if id != env.CommentID {
		_, err := s.set(ctx, env, func(e *store.PREnvironment) { e.CommentID = id })
		return err
	}
	return nil
}

func resLog(res *engine.Result) string {
	if res == nil {
		return ""
	}
	return res.LogID
}

// findComment looks for the bot's comment by its marker, 0 when there is none.
func (s *Service) findComment(ctx context.Context, gh githubapi.Client, env store.PREnvironment) (int64, error) {
	owner, name := githubapi.SplitRepo(env.Repo)
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := gh.ListComments(ctx, owner, name, env.PR, opts)
		if err != nil {
			return 0, fmt.Errorf("listing the comments of %s#%d: %w", env.Repo, env.PR, err)
		}
		for _, c := range cs {
			if strings.Contains(c.GetBody(), Marker) && strings.HasSuffix(c.GetUser().GetLogin(), "[bot]") {
				return c.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
}

// startCheck opens the head commit's check run; 0 when GitHub refused (logged, not fatal).
func (s *Service) startCheck(ctx context.Context, gh githubapi.Client, env store.PREnvironment, sha string) int64 {
	owner, name := githubapi.SplitRepo(env.Repo)
	title, summary := github.String("Previewing "+env.Stack), github.String("Previewing "+render.ShortSHA(sha)+" for `"+env.Stack+"`.")
	if env.CheckRunID != 0 && env.CheckSHA == sha {
		// Taken up again (after a crash or a retry): the head's check run goes on, none is left behind.
		s.checkUpdate(ctx, gh, env, env.CheckRunID, github.UpdateCheckRunOptions{Name: CheckName, Status: github.String("in_progress"),
			Output: &github.CheckRunOutput{Title: title, Summary: summary}})
		return env.CheckRunID
	}
	if env.CheckSHA == sha {
		// This head's check run was being created when the bot last stopped (its id not recorded):
		// take that one up if GitHub has it, rather than leave it in progress beside a second.
		if id := s.findCheck(ctx, gh, env, sha); id != 0 {
			if _, err := s.set(ctx, env, func(e *store.PREnvironment) { e.CheckRunID = id }); err != nil {
				s.o.Logger.Warn("recording the check run", "repo", env.Repo, "pr", env.PR, "error", err)
			}
			env.CheckRunID = id
			return s.startCheck(ctx, gh, env, sha)
		}
	} else {
		// Say first whose check run is being made, so that a crash before its id is recorded leaves
		// a trace to look for (above) instead of a run nobody finishes.
		if _, err := s.set(ctx, env, func(e *store.PREnvironment) { e.CheckRunID, e.CheckSHA = 0, sha }); err != nil {
			s.o.Logger.Warn("recording the check run's head", "repo", env.Repo, "pr", env.PR, "error", err)
		}
	}
	cr, _, err := gh.CreateCheckRun(ctx, owner, name, github.CreateCheckRunOptions{
		Name: CheckName, HeadSHA: sha, Status: github.String("in_progress"), ExternalID: github.String(env.Stack),
		Output: &github.CheckRunOutput{Title: title, Summary: summary},
	})
	if err != nil {
		s.o.Logger.Warn("creating the check run", "repo", env.Repo, "pr", env.PR, "error", err)
		return 0
	}
	if _, err := s.set(ctx, env, func(e *store.PREnvironment) { e.CheckRunID, e.CheckSHA = cr.GetID(), sha }); err != nil {
		s.o.Logger.Warn("recording the check run", "repo", env.Repo, "pr", env.PR, "error", err)
	}
	return cr.GetID()
}

// findCheck returns the newest check run of this PR's stack on sha that GitHub has, 0 when there
// is none or GitHub cannot say (a new one is then made).
func (s *Service) findCheck(ctx context.Context, gh githubapi.Client, env store.PREnvironment, sha string) int64 {
	owner, name := githubapi.SplitRepo(env.Repo)
	res, _, err := gh.ListCheckRunsForRef(ctx, owner, name, sha, &github.ListCheckRunsOptions{CheckName: github.String(CheckName)})
	if err != nil {
		s.o.Logger.Warn("looking for the head's check run", "repo", env.Repo, "pr", env.PR, "error", err)
		return 0
	}
	var id int64
	for _, cr := range res.CheckRuns {
		if cr.GetExternalID() == env.Stack && cr.GetID() > id {
			id = cr.GetID()
		}
	}
	return id
}

// progressCheck puts the preview in the check run.
func (s *Service) progressCheck(ctx context.Context, gh githubapi.Client, env store.PREnvironment, id int64, prev engine.Result) {
	if id == 0 {
		return
	}
	title, summary, text := render.CheckOutput(prev, render.Options{Title: fmt.Sprintf("Preview of `%s`", env.Stack), LogURL: s.o.LogURL(prev.LogID)})
	s.checkUpdate(ctx, gh, env, id, github.UpdateCheckRunOptions{Name: CheckName, Status: github.String("in_progress"),
		Output: &github.CheckRunOutput{Title: github.String(title), Summary: github.String(summary), Text: optional(text)}})
}

// finishCheck completes the check run with the deploy result (or the failure).
func (s *Service) finishCheck(ctx context.Context, gh githubapi.Client, env store.PREnvironment, id int64, res engine.Result, ok bool, reason string) {
	if id == 0 {
		return
	}
	conclusion := "success"
	if !ok {
		conclusion = "failure"
	}
	out := &github.CheckRunOutput{Title: github.String("Deploy failed"), Summary: github.String(render.Clip(reason, 60000))}
	if res.Kind != "" {
		title, summary, text := render.CheckOutput(res, render.Options{Title: fmt.Sprintf("%s of `%s`", kindTitle(res.Kind), env.Stack), LogURL: s.o.LogURL(res.LogID)})
		out = &github.CheckRunOutput{Title: github.String(title), Summary: github.String(summary), Text: optional(text)}
	}
	s.checkUpdate(ctx, gh, env, id, github.UpdateCheckRunOptions{Name: CheckName, Status: github.String("completed"),
		Conclusion: github.String(conclusion), Output: out})
}

func kindTitle(k engine.Kind) string {
	if k == engine.KindPreview {
		return "Preview"
	}
	return "Deploy"
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return github.String(s)
}

// checkUpdate updates a check run; failures are logged, never fatal.
func (s *Service) checkUpdate(ctx context.Context, gh githubapi.Client, env store.PREnvironment, id int64, o github.UpdateCheckRunOptions) {
	owner, name := githubapi.SplitRepo(env.Repo)
	if _, _, err := gh.UpdateCheckRun(ctx, owner, name, id, o); err != nil {
		s.o.Logger.Warn("updating the check run", "repo", env.Repo, "pr", env.PR, "error", err)
	}
}

// ensureDeployment opens the GitHub Deployment of sha for the environment (transient, no
// auto-merge, no required contexts) and records its id.
func (s *Service) ensureDeployment(ctx context.Context, gh githubapi.Client, env *store.PREnvironment, sha string) error {
	if env.DeploymentID != 0 && env.DeploymentSHA == sha {
		return nil // taken up again: the commit's deployment goes on
	}
	owner, name := githubapi.SplitRepo(env.Repo)
	d, _, err := gh.CreateDeployment(ctx, owner, name, &github.DeploymentRequest{
		Ref: github.String(sha), Task: github.String("deploy"), AutoMerge: github.Bool(false),
		RequiredContexts: &[]string{}, Environment: github.String(env.Stack),
		TransientEnvironment: github.Bool(true), ProductionEnvironment: github.Bool(false),
		Description: github.String(render.Clip(fmt.Sprintf("PR #%d at %s", env.PR, render.ShortSHA(sha)), 140)),
	})
	if err != nil {
		return fmt.Errorf("creating the GitHub deployment of %s: %w", env.Stack, err)
	}
	if env.DeploymentID != 0 {
		s.deploymentStatus(ctx, gh, *env, "inactive", "replaced by "+render.ShortSHA(sha))
	}
	e, err := s.set(ctx, *env, func(e *store.PREnvironment) { e.DeploymentID, e.DeploymentSHA = d.GetID(), sha })
	*env = e
	return err
}

// deploymentStatus posts a status on the environment's deployment; failures are logged.
func (s *Service) deploymentStatus(ctx context.Context, gh githubapi.Client, env store.PREnvironment, state, description string) {
	if env.DeploymentID == 0 {
		return
	}
	owner, name := githubapi.SplitRepo(env.Repo)
	req := &github.DeploymentStatusRequest{State: github.String(state), Description: github.String(render.Clip(description, 140)),
		Environment: github.String(env.Stack)}
	if env.EnvURL != "" && state != "inactive" {
		req.EnvironmentURL = github.String(env.EnvURL)
	}
	if _, _, err := gh.CreateDeploymentStatus(ctx, owner, name, env.DeploymentID, req); err != nil {
		s.o.Logger.Warn("posting a deployment status", "repo", env.Repo, "deployment", env.DeploymentID, "state", state, "error", err)
	}
}
