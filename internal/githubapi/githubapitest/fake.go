// Package githubapitest is an in-memory githubapi.Client for unit tests of feature logic: it
// keeps comments, check runs, deployments and their statuses, labels, pull requests,
// permissions, team memberships and files, records every call, and fails a call on request.
// Missing things answer as GitHub does, with a 404 *github.ErrorResponse.
package githubapitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/githubapi"
)

// Call is one recorded call.
type Call struct {
	// Method is the githubapi.Client method.
	Method string
	// Repo is "owner/name" (for GetTeamMembershipBySlug, "org/slug").
	Repo string
	// Number is the issue, pull request, comment, check run or deployment the call is about; 0
	// for none.
	Number int64
}

// Fake is the in-memory GitHub of one or more installations (all share it). The zero value is
// not usable: call New. It is safe for concurrent use.
type Fake struct {
	mu          sync.Mutex
	bot         string
	now         func() time.Time
	nextID      int64
	calls       []Call
	fail        map[string]error
	comments    map[string][]*github.IssueComment // "owner/repo#n"
	reactions   map[int64][]string
	labels      map[string][]*github.Label
	pulls       map[string]*github.PullRequest
	checkRuns   map[string][]*github.CheckRun // "owner/repo"
	deployments map[string][]*github.Deployment
	statuses    map[int64][]*github.DeploymentStatusRequest
	permissions map[string]githubapi.PermissionLevel // "owner/repo:user"
	teams       map[string]string                    // "org/slug:user" -> state
	repos       map[string]*repository
}

type repository struct {
	branch, sha string
	files       map[string]string // "sha:path"
	commits     map[string]bool
}

var (
	_ githubapi.Client        = (*Fake)(nil)
	_ githubapi.Installations = (*Fake)(nil)
)

// New returns an empty fake whose own comments are posted as bot (e.g. "stagecoach[bot]").
func New(bot string) *Fake {
	return &Fake{bot: bot, now: time.Now, fail: map[string]error{}, comments: map[string][]*github.IssueComment{},
		reactions: map[int64][]string{}, labels: map[string][]*github.Label{}, pulls: map[string]*github.PullRequest{},
		checkRuns: map[string][]*github.CheckRun{}, deployments: map[string][]*github.Deployment{},
		statuses: map[int64][]*github.DeploymentStatusRequest{}, permissions: map[string]githubapi.PermissionLevel{},
		teams: map[string]string{}, repos: map[string]*repository{}}
}

// Installation implements githubapi.Installations: every installation sees the same fake.
func (f *Fake) Installation(int64) githubapi.Client { return f }

// NotFound is the error GitHub's 404 becomes in go-github, with its response.
func NotFound() (*github.Response, error) {
	resp := &github.Response{Response: &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found"}}
	return resp, &github.ErrorResponse{Response: resp.Response, Message: "Not Found"}
}

// FailOn makes every later call of method fail with err; nil err lifts it.
func (f *Fake) FailOn(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, method)
		return
	}
	f.fail[method] = err
}

// Calls returns the calls made so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Count is how many times method was called.
func (f *Fake) Count(method string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Method == method {
			n++
		}
	}
	return n
}

// run records a call and, unless FailOn made method fail, answers it with fn, holding f's lock.
func run[T any](f *Fake, method, owner, repo string, number int64, fn func() (T, *github.Response, error)) (T, *github.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Method: method, Repo: owner + "/" + repo, Number: number})
	if err := f.fail[method]; err != nil {
		var zero T
		return zero, nil, err
	}
	return fn()
}

func (f *Fake) id() int64 {
	f.nextID++
	return f.nextID
}

func issueKey(repo string, n int) string { return fmt.Sprintf("%s#%d", repo, n) }

// AddComment puts a comment by login on a pull request, as if posted earlier, and returns its id.
func (f *Fake) AddComment(repo string, pr int, login, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addComment(repo, pr, login, body).GetID()
}

func (f *Fake) addComment(repo string, pr int, login, body string) *github.IssueComment {
	now := github.Timestamp{Time: f.now()}
	c := &github.IssueComment{ID: github.Int64(f.id()), Body: github.String(body), User: &github.User{Login: github.String(login)},
		CreatedAt: &now, UpdatedAt: &now}
	f.comments[issueKey(repo, pr)] = append(f.comments[issueKey(repo, pr)], c)
	return c
}

// Comments returns the comments on a pull request, oldest first.
func (f *Fake) Comments(repo string, pr int) []*github.IssueComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*github.IssueComment, 0, len(f.comments[issueKey(repo, pr)]))
	for _, c := range f.comments[issueKey(repo, pr)] {
		cp := *c
		out = append(out, &cp)
	}
	return out
}

// Reactions returns the reactions put on a comment.
func (f *Fake) Reactions(commentID int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reactions[commentID])
}

// SetLabels sets a pull request's labels.
func (f *Fake) SetLabels(repo string, pr int, names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ls []*github.Label
	for _, n := range names {
		ls = append(ls, &github.Label{Name: github.String(n)})
	}
	f.labels[issueKey(repo, pr)] = ls
}

// SetPullRequest stores a pull request (its Number must be set).
func (f *Fake) SetPullRequest(repo string, pr *github.PullRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pulls[issueKey(repo, pr.GetNumber())] = pr
}

// SetPermission gives user role (e.g. "write", or a custom role with its legacy permission) on repo.
func (f *Fake) SetPermission(repo, user string, p githubapi.PermissionLevel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.permissions[repo+":"+user] = p
}

// SetTeamMembership records user's membership state ("active", "pending") in team "org/slug".
func (f *Fake) SetTeamMembership(team, user, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.teams[team+":"+user] = state
}

// SetFile makes repo's default branch branch with head sha, holding path with content.
func (f *Fake) SetFile(repo, branch, sha, path, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[repo]
	if r == nil {
		r = &repository{files: map[string]string{}, commits: map[string]bool{}}
		f.repos[repo] = r
	}
	r.branch, r.sha = branch, sha
	r.commits[sha] = true
	r.files[sha+":"+path] = content
}

// CheckRuns returns repo's check runs, oldest first.
func (f *Fake) CheckRuns(repo string) []*github.CheckRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.checkRuns[repo])
}

// Deployments returns repo's deployments, oldest first.
func (f *Fake) Deployments(repo string) []*github.Deployment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.deployments[repo])
}

// DeploymentStates returns the states posted on a deployment, in order.
func (f *Fake) DeploymentStates(id int64) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.statuses[id] {
		out = append(out, s.GetState())
	}
	return out
}

func ok() *github.Response {
	return &github.Response{Response: &http.Response{StatusCode: http.StatusOK}}
}

// CreateComment implements githubapi.Client.
func (f *Fake) CreateComment(_ context.Context, owner, repo string, number int, comment *github.IssueComment) (*github.IssueComment, *github.Response, error) {
	return run(f, "CreateComment", owner, repo, int64(number), func() (*github.IssueComment, *github.Response, error) {
		c := *f.addComment(owner+"/"+repo, number, f.bot, comment.GetBody())
		return &c, ok(), nil
	})
}

// EditComment implements githubapi.Client.
func (f *Fake) EditComment(_ context.Context, owner, repo string, commentID int64, comment *github.IssueComment) (*github.IssueComment, *github.Response, error) {
	return run(f, "EditComment", owner, repo, commentID, func() (*github.IssueComment, *github.Response, error) {
		for key, cs := range f.comments {
			for _, c := range cs {
				if c.GetID() == commentID && strings.HasPrefix(key, owner+"/"+repo+"#") {
					c.Body = github.String(comment.GetBody())
					c.UpdatedAt = &github.Timestamp{Time: f.now()}
					cp := *c
					return &cp, ok(), nil
				}
			}
		}
		resp, nf := NotFound()
		return nil, resp, nf
	})
}

// ListComments implements githubapi.Client: one page, filtered by Since.
func (f *Fake) ListComments(_ context.Context, owner, repo string, number int, opts *github.IssueListCommentsOptions) ([]*github.IssueComment, *github.Response, error) {
	return run(f, "ListComments", owner, repo, int64(number), func() ([]*github.IssueComment, *github.Response, error) {
		var out []*github.IssueComment
		for _, c := range f.comments[issueKey(owner+"/"+repo, number)] {
			if opts != nil && opts.Since != nil && c.GetUpdatedAt().Before(*opts.Since) {
				continue
			}
			cp := *c
			out = append(out, &cp)
		}
		return out, ok(), nil
	})
}

// ListLabelsByIssue implements githubapi.Client.
func (f *Fake) ListLabelsByIssue(_ context.Context, owner, repo string, number int, _ *github.ListOptions) ([]*github.Label, *github.Response, error) {
	return run(f, "ListLabelsByIssue", owner, repo, int64(number), func() ([]*github.Label, *github.Response, error) {
		return slices.Clone(f.labels[issueKey(owner+"/"+repo, number)]), ok(), nil
	})
}

// CreateIssueCommentReaction implements githubapi.Client.
func (f *Fake) CreateIssueCommentReaction(_ context.Context, owner, repo string, id int64, content string) (*github.Reaction, *github.Response, error) {
	return run(f, "CreateIssueCommentReaction", owner, repo, id, func() (*github.Reaction, *github.Response, error) {
		f.reactions[id] = append(f.reactions[id], content)
		return &github.Reaction{ID: github.Int64(f.id()), Content: github.String(content)}, ok(), nil
	})
}

// GetPullRequest implements githubapi.Client.
func (f *Fake) GetPullRequest(_ context.Context, owner, repo string, number int) (*github.PullRequest, *github.Response, error) {
	return run(f, "GetPullRequest", owner, repo, int64(number), func() (*github.PullRequest, *github.Response, error) {
		pr, resp, err := find(f.pulls, issueKey(owner+"/"+repo, number))
		if err != nil {
			return nil, resp, err
		}
		cp := *pr
		return &cp, resp, nil
	})
}

// ListPullRequestsWithCommit implements githubapi.Client: the stored pull requests whose head or
// merge commit is sha, by number.
func (f *Fake) ListPullRequestsWithCommit(_ context.Context, owner, repo, sha string, _ *github.ListOptions) ([]*github.PullRequest, *github.Response, error) {
	return run(f, "ListPullRequestsWithCommit", owner, repo, 0, func() ([]*github.PullRequest, *github.Response, error) {
		var out []*github.PullRequest
		for key, pr := range f.pulls {
			if strings.HasPrefix(key, owner+"/"+repo+"#") && (pr.GetMergeCommitSHA() == sha || pr.GetHead().GetSHA() == sha) {
				cp := *pr
				out = append(out, &cp)
			}
		}
		slices.SortFunc(out, func(a, b *github.PullRequest) int { return a.GetNumber() - b.GetNumber() })
		return out, ok(), nil
	})
}

// CreateCheckRun implements githubapi.Client.
func (f *Fake) CreateCheckRun(_ context.Context, owner, repo string, opts github.CreateCheckRunOptions) (*github.CheckRun, *github.Response, error) {
	return run(f, "CreateCheckRun", owner, repo, 0, func() (*github.CheckRun, *github.Response, error) {
		cr := &github.CheckRun{ID: github.Int64(f.id()), Name: github.String(opts.Name), HeadSHA: github.String(opts.HeadSHA),
			Status: opts.Status, Conclusion: opts.Conclusion, ExternalID: opts.ExternalID, Output: opts.Output}
		f.checkRuns[owner+"/"+repo] = append(f.checkRuns[owner+"/"+repo], cr)
		cp := *cr
		return &cp, ok(), nil
	})
}

// UpdateCheckRun implements githubapi.Client.
func (f *Fake) UpdateCheckRun(_ context.Context, owner, repo string, checkRunID int64, opts github.UpdateCheckRunOptions) (*github.CheckRun, *github.Response, error) {
	return run(f, "UpdateCheckRun", owner, repo, checkRunID, func() (*github.CheckRun, *github.Response, error) {
		for _, cr := range f.checkRuns[owner+"/"+repo] {
			if cr.GetID() == checkRunID {
				cr.Name, cr.Status, cr.Conclusion, cr.Output = github.String(opts.Name), opts.Status, opts.Conclusion, opts.Output
				cp := *cr
				return &cp, ok(), nil
			}
		}
		resp, nf := NotFound()
		return nil, resp, nf
	})
}

// ListCheckRunsForRef implements githubapi.Client, filtered by CheckName.
func (f *Fake) ListCheckRunsForRef(_ context.Context, owner, repo, ref string, opts *github.ListCheckRunsOptions) (*github.ListCheckRunsResults, *github.Response, error) {
	return run(f, "ListCheckRunsForRef", owner, repo, 0, func() (*github.ListCheckRunsResults, *github.Response, error) {
		out := &github.ListCheckRunsResults{}
		for _, cr := range f.checkRuns[owner+"/"+repo] {
			if cr.GetHeadSHA() == ref && (opts == nil || opts.CheckName == nil || cr.GetName() == opts.GetCheckName()) {
				cp := *cr
				out.CheckRuns = append(out.CheckRuns, &cp)
			}
		}
		out.Total = github.Int(len(out.CheckRuns))
		return out, ok(), nil
	})
}

// CreateDeployment implements githubapi.Client.
func (f *Fake) CreateDeployment(_ context.Context, owner, repo string, request *github.DeploymentRequest) (*github.Deployment, *github.Response, error) {
	return run(f, "CreateDeployment", owner, repo, 0, func() (*github.Deployment, *github.Response, error) {
		payload, err := json.Marshal(request.Payload)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding the deployment payload: %w", err)
		}
		d := &github.Deployment{ID: github.Int64(f.id()), Ref: request.Ref, SHA: request.Ref, Task: request.Task,
			Environment: request.Environment, Description: request.Description, Payload: payload}
		f.deployments[owner+"/"+repo] = append(f.deployments[owner+"/"+repo], d)
		cp := *d
		return &cp, ok(), nil
	})
}

// CreateDeploymentStatus implements githubapi.Client.
func (f *Fake) CreateDeploymentStatus(_ context.Context, owner, repo string, deployment int64, request *github.DeploymentStatusRequest) (*github.DeploymentStatus, *github.Response, error) {
	return run(f, "CreateDeploymentStatus", owner, repo, deployment, func() (*github.DeploymentStatus, *github.Response, error) {
		found := slices.ContainsFunc(f.deployments[owner+"/"+repo], func(d *github.Deployment) bool { return d.GetID() == deployment })
		if !found {
			resp, nf := NotFound()
			return nil, resp, nf
		}
		cp := *request
		f.statuses[deployment] = append(f.statuses[deployment], &cp)
		return &github.DeploymentStatus{ID: github.Int64(f.id()), State: request.State, Description: request.Description}, ok(), nil
	})
}

func (f *Fake) repo(owner, repo string) (*repository, *github.Response, error) {
	return find(f.repos, owner+"/"+repo)
}

// find returns m[k] with a 200 response, or GitHub's 404.
func find[V any](m map[string]V, k string) (V, *github.Response, error) {
	v, found := m[k]
	if !found {
		resp, err := NotFound()
		return v, resp, err
	}
	return v, ok(), nil
}

// GetRepository implements githubapi.Client.
func (f *Fake) GetRepository(_ context.Context, owner, repo string) (*github.Repository, *github.Response, error) {
	return run(f, "GetRepository", owner, repo, 0, func() (*github.Repository, *github.Response, error) {
		r, resp, err := f.repo(owner, repo)
		if err != nil {
			return nil, resp, err
		}
		return &github.Repository{FullName: github.String(owner + "/" + repo), DefaultBranch: github.String(r.branch)}, resp, nil
	})
}

// GetBranch implements githubapi.Client.
func (f *Fake) GetBranch(_ context.Context, owner, repo, branch string, _ int) (*github.Branch, *github.Response, error) {
	return run(f, "GetBranch", owner, repo, 0, func() (*github.Branch, *github.Response, error) {
		r, resp, err := f.repo(owner, repo)
		if err == nil && r.branch != branch {
			resp, err = NotFound()
		}
		if err != nil {
			return nil, resp, err
		}
		return &github.Branch{Name: github.String(branch), Commit: &github.RepositoryCommit{SHA: github.String(r.sha)}}, resp, nil
	})
}

// GetCommit implements githubapi.Client: a commit SetFile made.
func (f *Fake) GetCommit(_ context.Context, owner, repo, sha string, _ *github.ListOptions) (*github.RepositoryCommit, *github.Response, error) {
	return run(f, "GetCommit", owner, repo, 0, func() (*github.RepositoryCommit, *github.Response, error) {
		r, resp, err := f.repo(owner, repo)
		if err == nil && !r.commits[sha] {
			resp, err = NotFound()
		}
		if err != nil {
			return nil, resp, err
		}
		return &github.RepositoryCommit{SHA: github.String(sha)}, resp, nil
	})
}

// GetContents implements githubapi.Client: a file SetFile stored, at opts.Ref.
func (f *Fake) GetContents(_ context.Context, owner, repo, path string, opts *github.RepositoryContentGetOptions) (*github.RepositoryContent, []*github.RepositoryContent, *github.Response, error) {
	file, resp, err := run(f, "GetContents", owner, repo, 0, func() (*github.RepositoryContent, *github.Response, error) {
		r, resp, err := f.repo(owner, repo)
		if err != nil {
			return nil, resp, err
		}
		ref := r.sha
		if opts != nil && opts.Ref != "" {
			ref = opts.Ref
		}
		text, found := r.files[ref+":"+path]
		if !found {
			resp, nf := NotFound()
			return nil, resp, nf
		}
		return &github.RepositoryContent{Type: github.String("file"), Path: github.String(path), Size: github.Int(len(text)),
			Content: github.String(text)}, resp, nil
	})
	return file, nil, resp, err // never a directory listing: the fake stores files only
}

// GetArchiveLink implements githubapi.Client: the fake holds no tarballs, so it answers 404.
func (f *Fake) GetArchiveLink(_ context.Context, owner, repo string, _ github.ArchiveFormat, _ *github.RepositoryContentGetOptions, _ int) (*url.URL, *github.Response, error) {
	return run(f, "GetArchiveLink", owner, repo, 0, func() (*url.URL, *github.Response, error) {
		resp, nf := NotFound()
		return nil, resp, nf
	})
}

// GetPermissionLevel implements githubapi.Client: what SetPermission set, else 404 (not a
// collaborator).
func (f *Fake) GetPermissionLevel(_ context.Context, owner, repo, user string) (*githubapi.PermissionLevel, *github.Response, error) {
	return run(f, "GetPermissionLevel", owner, repo, 0, func() (*githubapi.PermissionLevel, *github.Response, error) {
		p, resp, err := find(f.permissions, owner+"/"+repo+":"+user)
		if err != nil {
			return nil, resp, err
		}
		return &p, resp, nil
	})
}

// GetTeamMembershipBySlug implements githubapi.Client: what SetTeamMembership set, else 404.
func (f *Fake) GetTeamMembershipBySlug(_ context.Context, org, slug, user string) (*github.Membership, *github.Response, error) {
	return run(f, "GetTeamMembershipBySlug", org, slug, 0, func() (*github.Membership, *github.Response, error) {
		state, resp, err := find(f.teams, org+"/"+slug+":"+user)
		if err != nil {
			return nil, resp, err
		}
		return &github.Membership{State: github.String(state)}, resp, nil
	})
}
