package promotion

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
)

// payloadKey marks the deployments the bot creates: their payload names the promotion, so a
// deployment event for one is recognised as the bot's own whoever delivers it.
const payloadKey = "stagecoach_promotion"

// createDeployment opens the GitHub Deployment of a promotion: environment named after ours,
// production for the production environment, no auto-merge and no required contexts.
func (s *Service) createDeployment(ctx context.Context, gh githubapi.Client, cfg *repoconfig.Config, p store.Promotion) (int64, error) {
	env, _ := cfg.Environment(p.Environment)
	owner, name := githubapi.SplitRepo(p.Repo)
	task := "deploy"
	if p.Rollback {
		task = "deploy:rollback"
	}
	d, _, err := gh.CreateDeployment(ctx, owner, name, &github.DeploymentRequest{
		Ref: github.String(p.SHA), Task: github.String(task), AutoMerge: github.Bool(false),
		RequiredContexts: &[]string{}, Environment: github.String(env.Name),
		ProductionEnvironment: github.Bool(env.Production), Payload: map[string]string{payloadKey: p.ID},
		Description: github.String(render.Clip(fmt.Sprintf("%s of %s by %s (%s)", task, render.ShortSHA(p.SHA), p.Requester, p.Trigger), 140)),
	})
	if err != nil {
		return 0, fmt.Errorf("creating the GitHub deployment of %s to %s: %w", render.ShortSHA(p.SHA), env.Name, err)
	}
	return d.GetID(), nil
}

// status posts a deployment status; failures are logged, never fatal: the promotion itself
// is what matters.
func (s *Service) status(ctx context.Context, gh githubapi.Client, p store.Promotion, state, description string) {
	if p.DeploymentID == 0 {
		return
	}
	owner, name := githubapi.SplitRepo(p.Repo)
	req := &github.DeploymentStatusRequest{State: github.String(state), Description: github.String(render.Clip(description, 140))}
	if u := s.o.LogURL(p.LogID); u != "" {
		req.LogURL = github.String(u)
	}
	if p.EnvURL != "" && state == "success" {
		req.EnvironmentURL = github.String(p.EnvURL)
	}
	if _, _, err := gh.CreateDeploymentStatus(ctx, owner, name, p.DeploymentID, req); err != nil {
		s.o.Logger.Warn("posting a deployment status", "repo", p.Repo, "deployment", p.DeploymentID, "state", state, "error", err)
	}
}

// comment posts body on pr; pr 0 posts nothing.
func (s *Service) comment(ctx context.Context, gh githubapi.Client, repo string, pr int, body string) error {
	if pr == 0 {
		return nil
	}
	owner, name := githubapi.SplitRepo(repo)
	if _, _, err := gh.CreateComment(ctx, owner, name, pr, &github.IssueComment{Body: github.String(body)}); err != nil {
		return fmt.Errorf("commenting on %s#%d: %w", repo, pr, err)
	}
	return nil
}

// mergedPR returns the merged pull request that brought sha to the default branch, 0 for none
// (a direct push).
func mergedPR(ctx context.Context, gh githubapi.Client, repo, sha string) (int, error) {
	owner, name := githubapi.SplitRepo(repo)
	prs, _, err := gh.ListPullRequestsWithCommit(ctx, owner, name, sha, nil)
	if err != nil {
		return 0, fmt.Errorf("finding the pull request of %s in %s: %w", render.ShortSHA(sha), repo, err)
	}
	for _, pr := range prs {
		if pr.GetMergeCommitSHA() == sha || pr.GetMerged() {
			return pr.GetNumber(), nil
		}
	}
	return 0, nil
}

// people looks up what the gates need to know about logins, once per login.
type people struct {
	gh    githubapi.Client
	repo  string
	teams []string // every team the config names
	seen  map[string]Person
}

func newPeople(gh githubapi.Client, repo string, cfg *repoconfig.Config) *people {
	var teams []string
	for _, e := range cfg.Environments {
		for _, t := range append(slices.Clone(e.Promoters.Teams), e.Approvals.Approvers.Teams...) {
			if !slices.ContainsFunc(teams, func(u string) bool { return strings.EqualFold(u, t) }) {
				teams = append(teams, t)
			}
		}
	}
	return &people{gh: gh, repo: repo, teams: teams, seen: map[string]Person{}}
}

// get returns login's permission and configured teams. The permission is command.Permission's
// (role_name, custom roles counted as their base role). A team counts only when GitHub reports
// the membership "active": a "pending" one is an invitation not yet accepted, and 404 means no
// membership (or a team the App cannot see); any other failure is an error, never "not a member"
// nor "member".
func (p *people) get(ctx context.Context, login string) (Person, error) {
	if got, ok := p.seen[strings.ToLower(login)]; ok {
		return got, nil
	}
	perm, err := command.Permission(ctx, p.gh, p.repo, login)
	if err != nil {
		return Person{}, err
	}
	out := Person{Login: login, Permission: perm}
	for _, t := range p.teams {
		org, slug, _ := strings.Cut(t, "/")
		m, _, err := p.gh.GetTeamMembershipBySlug(ctx, org, slug, login)
		switch {
		case err == nil && m.GetState() == "active":
			out.Teams = append(out.Teams, t)
		case err == nil: // "pending": invited, not a member yet
		case githubapi.IsNotFound(err):
		default:
			return Person{}, fmt.Errorf("checking whether %s is in team %s: %w", login, t, err)
		}
	}
	p.seen[strings.ToLower(login)] = out
	return out, nil
}

// approvals returns the recorded approvals of sha for env, with their approvers looked up.
func (s *Service) approvals(ctx context.Context, ppl *people, repo, env, sha string) ([]Approval, error) {
	recs, err := s.o.Records.Approvals(ctx, repo, env, sha)
	if err != nil {
		return nil, err
	}
	var out []Approval
	for _, r := range recs {
		who, err := ppl.get(ctx, r.Approver)
		if err != nil {
			return nil, err
		}
		out = append(out, Approval{Approver: who, SHA: sha, At: r.ApprovedAt})
	}
	return out, nil
}
