package githubsim

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file renders state as GitHub's JSON objects. The same objects serve REST responses
// and webhook payloads, as on GitHub; every function runs with s.mu held.

// api is the API root as clients see it, without the trailing slash.
func (s *Sim) api() string { return s.srv.URL + apiPrefix }

// web is the root of html_url links.
func (s *Sim) web() string { return s.srv.URL }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func strOrNil(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// nodeID imitates GitHub's opaque global node ids.
func nodeID(prefix string, id int64) string {
	return prefix + "_kwDO" + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func appPermissions() obj {
	return obj{
		"checks": "write", "contents": "read", "deployments": "write", "issues": "write",
		"members": "read", "metadata": "read", "pull_requests": "write",
	}
}

func appEvents() []string {
	return []string{"deployment", "issue_comment", "pull_request", "push"}
}

func (s *Sim) userObj(a *account) obj {
	u := s.api() + "/users/" + url.PathEscape(a.login)
	prefix, html := "U", s.web()+"/"+url.PathEscape(a.login)
	switch a.kind {
	case kindOrg:
		prefix = "O"
	case kindBot:
		prefix, html = "BOT", s.web()+"/apps/"+url.PathEscape(strings.TrimSuffix(a.login, "[bot]"))
	}
	return obj{
		"login": a.login, "id": a.id, "node_id": nodeID(prefix, a.id),
		"avatar_url":  fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", a.id),
		"gravatar_id": "", "url": u, "html_url": html,
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}",
		"gists_url": u + "/gists{/gist_id}", "starred_url": u + "/starred{/owner}{/repo}",
		"subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}",
		"received_events_url": u + "/received_events", "type": a.kind, "site_admin": false,
	}
}

func (s *Sim) orgObj(a *account) obj {
	u := s.api() + "/orgs/" + url.PathEscape(a.login)
	return obj{
		"login": a.login, "id": a.id, "node_id": nodeID("O", a.id), "url": u,
		"repos_url": u + "/repos", "events_url": u + "/events", "hooks_url": u + "/hooks",
		"issues_url": u + "/issues", "members_url": u + "/members{/member}",
		"public_members_url": u + "/public_members{/member}",
		"avatar_url":         fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", a.id),
		"description":        nil,
	}
}

func (s *Sim) repoAPI(r *repo) string { return s.api() + "/repos/" + r.fullName() }
func (s *Sim) repoWeb(r *repo) string { return s.web() + "/" + r.fullName() }

func (s *Sim) openPulls(r *repo) int {
	n := 0
	for _, p := range r.pulls {
		if p.state == "open" {
			n++
		}
	}
	return n
}

func (s *Sim) repoObj(r *repo) obj {
	a, w := s.repoAPI(r), s.repoWeb(r)
	host := strings.TrimPrefix(s.srv.URL, "http://")
	open := s.openPulls(r)
	return obj{
		"id": r.id, "node_id": nodeID("R", r.id), "name": r.name, "full_name": r.fullName(),
		"private": true, "owner": s.userObj(r.owner), "html_url": w, "description": nil,
		"fork": r.fork, "url": a, "forks_url": a + "/forks", "keys_url": a + "/keys{/key_id}",
		"collaborators_url": a + "/collaborators{/collaborator}", "teams_url": a + "/teams",
		"hooks_url": a + "/hooks", "issue_events_url": a + "/issues/events{/number}",
		"events_url": a + "/events", "assignees_url": a + "/assignees{/user}",
		"branches_url": a + "/branches{/branch}", "tags_url": a + "/tags",
		"blobs_url": a + "/git/blobs{/sha}", "git_tags_url": a + "/git/tags{/sha}",
		"git_refs_url": a + "/git/refs{/sha}", "trees_url": a + "/git/trees{/sha}",
		"statuses_url": a + "/statuses/{sha}", "languages_url": a + "/languages",
		"stargazers_url": a + "/stargazers", "contributors_url": a + "/contributors",
		"subscribers_url": a + "/subscribers", "subscription_url": a + "/subscription",
		"commits_url": a + "/commits{/sha}", "git_commits_url": a + "/git/commits{/sha}",
		"comments_url": a + "/comments{/number}", "issue_comment_url": a + "/issues/comments{/number}",
		"contents_url": a + "/contents/{+path}", "compare_url": a + "/compare/{base}...{head}",
		"merges_url": a + "/merges", "archive_url": a + "/{archive_format}{/ref}",
		"downloads_url": a + "/downloads", "issues_url": a + "/issues{/number}",
		"pulls_url": a + "/pulls{/number}", "milestones_url": a + "/milestones{/number}",
		"notifications_url": a + "/notifications{?since,all,participating}",
		"labels_url":        a + "/labels{/name}", "releases_url": a + "/releases{/id}",
		"deployments_url": a + "/deployments", "created_at": ts(r.createdAt),
		"updated_at": ts(r.updatedAt), "pushed_at": ts(r.pushedAt),
		"git_url": "git://" + host + "/" + r.fullName() + ".git",
		"ssh_url": "git@" + host + ":" + r.fullName() + ".git", "clone_url": w + ".git", "svn_url": w,
		"homepage": nil, "size": 0, "stargazers_count": 0, "watchers_count": 0, "language": nil,
		"has_issues": true, "has_projects": true, "has_downloads": true, "has_wiki": true,
		"has_pages": false, "has_discussions": false, "forks_count": 0, "mirror_url": nil,
		"archived": false, "disabled": false, "open_issues_count": open, "license": nil,
		"allow_forking": true, "is_template": false, "web_commit_signoff_required": false,
		"topics": []string{}, "visibility": "private", "forks": 0, "open_issues": open,
		"watchers": 0, "default_branch": r.defaultBranch, "custom_properties": obj{},
	}
}

// pushRepoObj is the repository object of push payloads, which GitHub renders from an older
// serializer: integer created_at/pushed_at, plus "stargazers", "master_branch" and, for
// organisation repositories, "organization".
func (s *Sim) pushRepoObj(r *repo) obj {
	o := s.repoObj(r)
	o["created_at"] = r.createdAt.Unix()
	o["pushed_at"] = r.pushedAt.Unix()
	o["stargazers"] = 0
	o["master_branch"] = r.defaultBranch
	if r.owner.kind == kindOrg {
		o["organization"] = r.owner.login
	}
	return o
}

func (s *Sim) labelObj(r *repo, l *label) obj {
	return obj{
		"id": l.id, "node_id": nodeID("LA", l.id), "url": s.repoAPI(r) + "/labels/" + url.PathEscape(l.name),
		"name": l.name, "color": l.color, "default": false, "description": nil,
	}
}

func (s *Sim) labelObjs(r *repo, names []string) []obj {
	out := []obj{}
	for _, n := range names {
		out = append(out, s.labelObj(r, s.labelFor(r, n)))
	}
	return out
}

func (s *Sim) link(href string) obj { return obj{"href": href} }

func (s *Sim) prObj(r *repo, p *pull) obj {
	n := strconv.Itoa(p.number)
	a := s.repoAPI(r) + "/pulls/" + n
	issue := s.repoAPI(r) + "/issues/" + n
	w := s.repoWeb(r) + "/pull/" + n
	var mergeable, rebaseable any
	state := "unknown"
	if p.state == "open" {
		mergeable, rebaseable, state = true, true, "clean"
		if p.draft {
			state = "draft"
		}
	}
	var mergedBy any
	if p.mergedBy != nil {
		mergedBy = s.userObj(p.mergedBy)
	}
	additions, deletions := p.lineCounts(r)
	return obj{
		"url": a, "id": p.id, "node_id": nodeID("PR", p.id), "html_url": w,
		"diff_url": w + ".diff", "patch_url": w + ".patch", "issue_url": issue, "number": p.number,
		"state": p.state, "locked": false, "title": p.title, "user": s.userObj(p.author),
		"body": strOrNil(p.body), "created_at": ts(p.createdAt), "updated_at": ts(p.updatedAt),
		"closed_at": tsOrNil(p.closedAt), "merged_at": tsOrNil(p.mergedAt),
		"merge_commit_sha": strOrNil(p.mergeCommitSHA), "assignee": nil, "assignees": []obj{},
		"requested_reviewers": []obj{}, "requested_teams": []obj{}, "labels": s.labelObjs(r, p.labels),
		"milestone": nil, "draft": p.draft, "commits_url": a + "/commits",
		"review_comments_url": a + "/comments", "review_comment_url": s.repoAPI(r) + "/pulls/comments{/number}",
		"comments_url": issue + "/comments", "statuses_url": s.repoAPI(r) + "/statuses/" + p.headSHA,
		"head": obj{
			"label": p.headRepo.owner.login + ":" + p.headRef, "ref": p.headRef, "sha": p.headSHA,
			"user": s.userObj(p.headRepo.owner), "repo": s.repoObj(p.headRepo),
		},
		"base": obj{
			"label": r.owner.login + ":" + p.baseRef, "ref": p.baseRef, "sha": p.baseSHA,
			"user": s.userObj(r.owner), "repo": s.repoObj(r),
		},
		"_links": obj{
			"self": s.link(a), "html": s.link(w), "issue": s.link(issue), "comments": s.link(issue + "/comments"),
			"review_comments": s.link(a + "/comments"), "review_comment": s.link(s.repoAPI(r) + "/pulls/comments{/number}"),
			"commits": s.link(a + "/commits"), "statuses": s.link(s.repoAPI(r) + "/statuses/" + p.headSHA),
		},
		"author_association": s.authorAssociation(r, p.author), "auto_merge": nil,
		"active_lock_reason": nil, "merged": p.merged, "mergeable": mergeable,
		"rebaseable": rebaseable, "mergeable_state": state, "merged_by": mergedBy,
		"comments": s.commentCount(r, p.number), "review_comments": 0,
		"maintainer_can_modify": p.headRepo != r, "commits": len(p.commitSHAs),
		"additions": additions, "deletions": deletions, "changed_files": len(p.changes),
	}
}

// lineCounts approximates the PR's added and deleted lines against its base.
func (p *pull) lineCounts(r *repo) (additions, deletions int) {
	base := r.commits[p.baseSHA]
	for path, content := range p.changes {
		if base != nil {
			if old, ok := base.files[path]; ok {
				deletions += strings.Count(old, "\n") + 1
			}
		}
		if content != "" {
			additions += strings.Count(content, "\n") + 1
		}
	}
	return additions, deletions
}

func (s *Sim) commentCount(r *repo, number int) int {
	n := 0
	for _, c := range r.comments {
		if c.number == number {
			n++
		}
	}
	return n
}

// issueObj renders a pull request as the issue of issue_comment payloads and the issues API.
func (s *Sim) issueObj(r *repo, p *pull) obj {
	issue := s.repoAPI(r) + "/issues/" + strconv.Itoa(p.number)
	pr := s.prObj(r, p)
	return obj{
		"url": issue, "repository_url": s.repoAPI(r), "labels_url": issue + "/labels{/name}",
		"comments_url": issue + "/comments", "events_url": issue + "/events",
		"html_url": pr["html_url"], "id": p.id + 1, "node_id": pr["node_id"], "number": p.number,
		"title": p.title, "user": pr["user"], "labels": pr["labels"], "state": p.state,
		"locked": false, "assignee": nil, "assignees": []obj{}, "milestone": nil,
		"comments": pr["comments"], "created_at": pr["created_at"], "updated_at": pr["updated_at"],
		"closed_at": pr["closed_at"], "author_association": pr["author_association"],
		"active_lock_reason": nil, "draft": p.draft,
		"pull_request": obj{
			"url": pr["url"], "html_url": pr["html_url"], "diff_url": pr["diff_url"],
			"patch_url": pr["patch_url"], "merged_at": pr["merged_at"],
		},
		"body": pr["body"], "reactions": s.reactionsObj(issue, nil), "timeline_url": issue + "/timeline",
		"performed_via_github_app": nil, "state_reason": nil,
	}
}

// reactionsObj is the reactions rollup GitHub embeds in issues and comments.
func (s *Sim) reactionsObj(parentURL string, rs []reaction) obj {
	o := obj{"url": parentURL + "/reactions", "total_count": len(rs)}
	for _, k := range reactionContents() {
		o[k] = 0
	}
	for _, rc := range rs {
		o[rc.content] = o[rc.content].(int) + 1
	}
	return o
}

func reactionContents() []string {
	return []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}
}

func (s *Sim) commentObj(r *repo, c *comment) obj {
	u := s.repoAPI(r) + "/issues/comments/" + strconv.FormatInt(c.id, 10)
	var app any
	if c.viaApp {
		app = s.appObj()
	}
	return obj{
		"url": u, "html_url": fmt.Sprintf("%s/pull/%d#issuecomment-%d", s.repoWeb(r), c.number, c.id),
		"issue_url": fmt.Sprintf("%s/issues/%d", s.repoAPI(r), c.number), "id": c.id,
		"node_id": nodeID("IC", c.id), "user": s.userObj(c.author), "created_at": ts(c.createdAt),
		"updated_at": ts(c.updatedAt), "author_association": s.authorAssociation(r, c.author),
		"body": c.body, "reactions": s.reactionsObj(u, c.reactions), "performed_via_github_app": app,
	}
}

// gitPerson is the name/email pair of commit payloads.
func (s *Sim) gitPerson(a *account) obj {
	if a == nil {
		return obj{"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"}
	}
	return obj{"name": a.login, "email": fmt.Sprintf("%d+%s@users.noreply.github.com", a.id, a.login), "username": a.login}
}

// pushCommitObj is a commit as listed in push payloads.
func (s *Sim) pushCommitObj(r *repo, c *commit) obj {
	committer := s.gitPerson(c.author)
	if len(c.parents) > 1 {
		committer = s.gitPerson(nil)
	}
	return obj{
		"id": c.sha, "tree_id": c.treeSHA, "distinct": true, "message": c.message,
		"timestamp": ts(c.at), "url": s.repoWeb(r) + "/commit/" + c.sha,
		"author": s.gitPerson(c.author), "committer": committer,
		"added": nonNil(c.added), "removed": nonNil(c.removed), "modified": nonNil(c.modified),
	}
}

func (s *Sim) appObj() obj {
	return obj{
		"id": s.opts.AppID, "slug": s.opts.AppSlug, "node_id": nodeID("A", s.opts.AppID),
		"owner": s.userObj(s.appOwner()), "name": s.opts.AppSlug, "description": "",
		"external_url": s.web(), "html_url": s.web() + "/apps/" + s.opts.AppSlug,
		"created_at": ts(time.Unix(1700000000, 0)), "updated_at": ts(time.Unix(1700000000, 0)),
		"permissions": appPermissions(), "events": appEvents(),
	}
}

// appOwner is the organisation that owns the app.
func (s *Sim) appOwner() *account {
	a := s.accountFor(s.opts.AppSlug + "-developers")
	a.kind = kindOrg
	return a
}

func (s *Sim) installationObj(inst *installation) obj {
	u := s.api() + "/app/installations/" + strconv.FormatInt(inst.id, 10)
	return obj{
		"id": inst.id, "account": s.userObj(inst.account), "repository_selection": "all",
		"access_tokens_url": u + "/access_tokens", "repositories_url": s.api() + "/installation/repositories",
		"html_url": fmt.Sprintf("%s/organizations/%s/settings/installations/%d", s.web(), inst.account.login, inst.id),
		"app_id":   s.opts.AppID, "app_slug": s.opts.AppSlug, "target_id": inst.account.id,
		"target_type": inst.account.kind, "permissions": appPermissions(), "events": appEvents(),
		"created_at": ts(inst.createdAt), "updated_at": ts(inst.createdAt),
		"single_file_name": nil, "has_multiple_single_files": false, "single_file_paths": []string{},
		"suspended_by": nil, "suspended_at": nil,
	}
}

func sortedInstallations(m map[int64]*installation) []*installation {
	ids := slices.Sorted(maps.Keys(m))
	out := make([]*installation, 0, len(ids))
	for _, id := range ids {
		out = append(out, m[id])
	}
	return out
}

func (s *Sim) sortedRepos() []*repo {
	out := slices.Collect(maps.Values(s.repos))
	slices.SortFunc(out, func(a, b *repo) int { return int(a.id - b.id) })
	return out
}

// envelope adds the fields every repository webhook carries: repository, sender,
// installation and, for organisation repositories, organization.
func (s *Sim) envelope(r *repo, sender *account, fields obj) obj {
	fields["repository"] = s.repoObj(r)
	fields["sender"] = s.userObj(sender)
	if inst := s.installationOf(r); inst != nil {
		fields["installation"] = obj{"id": inst.id, "node_id": nodeID("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u", inst.id)}
	}
	if r.owner.kind == kindOrg {
		fields["organization"] = s.orgObj(r.owner)
	}
	return fields
}
