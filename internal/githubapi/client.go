// Package githubapi is the one seam between the features and GitHub: Client lists exactly the
// REST calls stagecoach makes, with go-github v60's types, so feature logic runs against the
// in-memory fake of package githubapitest in unit tests and against GitHub (or the simulator of
// internal/githubsim) through REST everywhere else. A feature that needs a new call adds it here,
// to REST and to the fake.
package githubapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"
)

// Client is what the features ask of GitHub for one installation. The methods are go-github's,
// named after the call (with the service's noun where go-github's name alone is ambiguous), and
// fail as go-github does: a *github.ErrorResponse for an HTTP error (IsNotFound tells a 404).
type Client interface {
	// Issues and pull requests.
	CreateComment(ctx context.Context, owner, repo string, number int, comment *github.IssueComment) (*github.IssueComment, *github.Response, error)
	EditComment(ctx context.Context, owner, repo string, commentID int64, comment *github.IssueComment) (*github.IssueComment, *github.Response, error)
	ListComments(ctx context.Context, owner, repo string, number int, opts *github.IssueListCommentsOptions) ([]*github.IssueComment, *github.Response, error)
	ListLabelsByIssue(ctx context.Context, owner, repo string, number int, opts *github.ListOptions) ([]*github.Label, *github.Response, error)
	CreateIssueCommentReaction(ctx context.Context, owner, repo string, id int64, content string) (*github.Reaction, *github.Response, error)
	GetPullRequest(ctx context.Context, owner, repo string, number int) (*github.PullRequest, *github.Response, error)
	ListPullRequestsWithCommit(ctx context.Context, owner, repo, sha string, opts *github.ListOptions) ([]*github.PullRequest, *github.Response, error)

	// Check runs.
	CreateCheckRun(ctx context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, *github.Response, error)
	UpdateCheckRun(ctx context.Context, owner, repo string, checkRunID int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, *github.Response, error)
	ListCheckRunsForRef(ctx context.Context, owner, repo, ref string, opts *github.ListCheckRunsOptions) (*github.ListCheckRunsResults, *github.Response, error)

	// Deployments.
	CreateDeployment(ctx context.Context, owner, repo string, request *github.DeploymentRequest) (*github.Deployment, *github.Response, error)
	CreateDeploymentStatus(ctx context.Context, owner, repo string, deployment int64, request *github.DeploymentStatusRequest) (*github.DeploymentStatus, *github.Response, error)

	// Repository contents (the config loader and source.Archiver use these).
	GetRepository(ctx context.Context, owner, repo string) (*github.Repository, *github.Response, error)
	GetBranch(ctx context.Context, owner, repo, branch string, maxRedirects int) (*github.Branch, *github.Response, error)
	GetCommit(ctx context.Context, owner, repo, sha string, opts *github.ListOptions) (*github.RepositoryCommit, *github.Response, error)
	GetContents(ctx context.Context, owner, repo, path string, opts *github.RepositoryContentGetOptions) (*github.RepositoryContent, []*github.RepositoryContent, *github.Response, error)
	GetArchiveLink(ctx context.Context, owner, repo string, format github.ArchiveFormat, opts *github.RepositoryContentGetOptions, maxRedirects int) (*url.URL, *github.Response, error)

	// People.
	GetPermissionLevel(ctx context.Context, owner, repo, user string) (*PermissionLevel, *github.Response, error)
	GetTeamMembershipBySlug(ctx context.Context, org, slug, user string) (*github.Membership, *github.Response, error)
}

// Installations hands out a Client per App installation. The bot wires Apps around
// *githubapp.App; tests use githubapitest.Fake.
type Installations interface {
	Installation(id int64) Client
}

// PermissionLevel is a collaborator's permission on a repository as GitHub reports it: go-github
// v60's RepositoryPermissionLevel lacks role_name, which names custom and built-in roles exactly.
type PermissionLevel struct {
	// Permission is the legacy field: admin, write, read or none.
	Permission string `json:"permission"`
	// RoleName is the precise role (admin, maintain, write, triage, read, or a custom role's
	// name); empty on older GitHub Enterprise Server.
	RoleName string `json:"role_name"`
}

// IsNotFound reports whether err is GitHub's 404.
func IsNotFound(err error) bool {
	var ghErr *github.ErrorResponse
	return errors.As(err, &ghErr) && ghErr.Response != nil && ghErr.Response.StatusCode == http.StatusNotFound
}

// SplitRepo splits "owner/name" into its owner and name; name is "" without a slash.
func SplitRepo(full string) (owner, name string) {
	owner, name, _ = strings.Cut(full, "/")
	return owner, name
}
