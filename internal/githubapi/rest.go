package githubapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/go-github/v60/github"
)

// REST is the Client over go-github's REST client.
type REST struct{ C *github.Client }

var _ Client = REST{}

// Apps hands out REST clients of an App's installations; *githubapp.App satisfies its field.
type Apps struct {
	App interface{ Installation(id int64) *github.Client }
}

// Installation implements Installations.
func (a Apps) Installation(id int64) Client { return REST{C: a.App.Installation(id)} }

// CreateComment implements Client.
func (r REST) CreateComment(ctx context.Context, owner, repo string, number int, comment *github.IssueComment) (*github.IssueComment, *github.Response, error) {
	return r.C.Issues.CreateComment(ctx, owner, repo, number, comment)
}

// EditComment implements Client.
func (r REST) EditComment(ctx context.Context, owner, repo string, commentID int64, comment *github.IssueComment) (*github.IssueComment, *github.Response, error) {
	return r.C.Issues.EditComment(ctx, owner, repo, commentID, comment)
}

// ListComments implements Client.
func (r REST) ListComments(ctx context.Context, owner, repo string, number int, opts *github.IssueListCommentsOptions) ([]*github.IssueComment, *github.Response, error) {
	return r.C.Issues.ListComments(ctx, owner, repo, number, opts)
}

// ListLabelsByIssue implements Client.
func (r REST) ListLabelsByIssue(ctx context.Context, owner, repo string, number int, opts *github.ListOptions) ([]*github.Label, *github.Response, error) {
	return r.C.Issues.ListLabelsByIssue(ctx, owner, repo, number, opts)
}

// CreateIssueCommentReaction implements Client.
func (r REST) CreateIssueCommentReaction(ctx context.Context, owner, repo string, id int64, content string) (*github.Reaction, *github.Response, error) {
	return r.C.Reactions.CreateIssueCommentReaction(ctx, owner, repo, id, content)
}

// GetPullRequest implements Client.
func (r REST) GetPullRequest(ctx context.Context, owner, repo string, number int) (*github.PullRequest, *github.Response, error) {
	return r.C.PullRequests.Get(ctx, owner, repo, number)
}

// ListPullRequestsWithCommit implements Client.
func (r REST) ListPullRequestsWithCommit(ctx context.Context, owner, repo, sha string, opts *github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
	return r.C.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, sha, opts)
}

// CreateCheckRun implements Client.
func (r REST) CreateCheckRun(ctx context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, *github.Response, error) {
	return r.C.Checks.CreateCheckRun(ctx, owner, repo, opts)
}

// UpdateCheckRun implements Client.
func (r REST) UpdateCheckRun(ctx context.Context, owner, repo string, checkRunID int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, *github.Response, error) {
	return r.C.Checks.UpdateCheckRun(ctx, owner, repo, checkRunID, opts)
}

// ListCheckRunsForRef implements Client.
func (r REST) ListCheckRunsForRef(ctx context.Context, owner, repo, ref string, opts *github.ListCheckRunsOptions) (*github.ListCheckRunsResults, *github.Response, error) {
	return r.C.Checks.ListCheckRunsForRef(ctx, owner, repo, ref, opts)
}

// CreateDeployment implements Client.
func (r REST) CreateDeployment(ctx context.Context, owner, repo string, request *github.DeploymentRequest) (*github.Deployment, *github.Response, error) {
	return r.C.Repositories.CreateDeployment(ctx, owner, repo, request)
}

// CreateDeploymentStatus implements Client.
func (r REST) CreateDeploymentStatus(ctx context.Context, owner, repo string, deployment int64, request *github.DeploymentStatusRequest) (*github.DeploymentStatus, *github.Response, error) {
	return r.C.Repositories.CreateDeploymentStatus(ctx, owner, repo, deployment, request)
}

// GetRepository implements Client.
func (r REST) GetRepository(ctx context.Context, owner, repo string) (*github.Repository, *github.Response, error) {
	return r.C.Repositories.Get(ctx, owner, repo)
}

// GetBranch implements Client.
func (r REST) GetBranch(ctx context.Context, owner, repo, branch string, maxRedirects int) (*github.Branch, *github.Response, error) {
	return r.C.Repositories.GetBranch(ctx, owner, repo, branch, maxRedirects)
}

// GetCommit implements Client.
func (r REST) GetCommit(ctx context.Context, owner, repo, sha string, opts *github.ListOptions) (*github.RepositoryCommit, *github.Response, error) {
	return r.C.Repositories.GetCommit(ctx, owner, repo, sha, opts)
}

// GetContents implements Client.
func (r REST) GetContents(ctx context.Context, owner, repo, path string, opts *github.RepositoryContentGetOptions) (*github.RepositoryContent, []*github.RepositoryContent, *github.Response, error) {
	return r.C.Repositories.GetContents(ctx, owner, repo, path, opts)
}

// GetArchiveLink implements Client.
func (r REST) GetArchiveLink(ctx context.Context, owner, repo string, format github.ArchiveFormat, opts *github.RepositoryContentGetOptions, maxRedirects int) (*url.URL, *github.Response, error) {
	return r.C.Repositories.GetArchiveLink(ctx, owner, repo, format, opts, maxRedirects)
}

// GetPermissionLevel implements Client. go-github's method of that name drops role_name, so
// the request is made here.
func (r REST) GetPermissionLevel(ctx context.Context, owner, repo, user string) (*PermissionLevel, *github.Response, error) {
	req, err := r.C.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/collaborators/%s/permission", owner, repo, user), nil)
	if err != nil {
		return nil, nil, err
	}
	p := new(PermissionLevel)
	resp, err := r.C.Do(ctx, req, p)
	if err != nil {
		return nil, resp, err
	}
	return p, resp, nil
}

// GetTeamMembershipBySlug implements Client.
func (r REST) GetTeamMembershipBySlug(ctx context.Context, org, slug, user string) (*github.Membership, *github.Response, error) {
	return r.C.Teams.GetTeamMembershipBySlug(ctx, org, slug, user)
}
