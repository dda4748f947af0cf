package githubsim

import (
	"fmt"
	"slices"
	"strings"
)

// zeroSHA is the "before" of a push that creates a branch.
const zeroSHA = "0000000000000000000000000000000000000000"

// CreateRepo creates owner/name with default branch "main" and a first commit holding
// files (path → content), authored by Options.DefaultUser. The owner must have an
// installation (AddInstallation or AddUserInstallation). No webhook is sent.
func (s *Sim) CreateRepo(owner, name string, files map[string]string) (Repo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var inst *installation
	for _, i := range s.installations {
		if strings.EqualFold(i.account.login, owner) {
			inst = i
		}
	}
	if inst == nil {
		return Repo{}, fmt.Errorf("creating %s/%s: %w", owner, name, errNoInstallation)
	}
	key := strings.ToLower(owner + "/" + name)
	if _, exists := s.repos[key]; exists {
		return Repo{}, fmt.Errorf("creating %s/%s: repository already exists", owner, name)
	}
	now := s.now()
	r := &repo{
		id: s.newID(), owner: inst.account, name: name, installationID: inst.id, defaultBranch: "main",
		createdAt: now, updatedAt: now, pushedAt: now, commits: map[string]*commit{},
		branches: map[string]string{}, labels: map[string]*label{},
	}
	c := s.addCommit(nil, files, "Initial commit", s.accountFor(s.opts.DefaultUser))
	r.commits[c.sha] = c
	r.branches["main"] = c.sha
	s.repos[key] = r
	s.notify()
	return s.repoInfo(r), nil
}

func (s *Sim) repoInfo(r *repo) Repo {
	return Repo{
		ID: r.id, Owner: r.owner.login, Name: r.name, FullName: r.fullName(), DefaultBranch: r.defaultBranch,
		InstallationID: r.installationID, Fork: r.fork, HeadSHA: r.branches[r.defaultBranch], URL: s.repoAPI(r),
	}
}

// Commit pushes one commit to branch of repo ("owner/name") as Options.DefaultUser and sends
// the push webhook, then pull_request.synchronize for every open PR whose head is that
// branch. files maps path → content; an empty content deletes the path (so empty files
// cannot be created). A missing branch is created from the default branch head.
// It returns the new commit's SHA.
func (s *Sim) Commit(repoName, branch string, files map[string]string, message string) (string, error) {
	var sha string
	err := s.change(func() ([]*Delivery, error) {
		r, err := s.lookupRepo(repoName)
		if err != nil {
			return nil, fmt.Errorf("committing to %s: %w", repoName, err)
		}
		if r.fork {
			return nil, fmt.Errorf("committing to %s: forks are only written through PushToPR", repoName)
		}
		pusher := s.accountFor(s.opts.DefaultUser)
		c, d := s.pushCommit(r, branch, files, message, pusher)
		sha = c.sha
		queued := []*Delivery{d}
		for _, p := range r.pulls {
			if p.state == "open" && p.headRepo == r && p.headRef == branch {
				queued = append(queued, s.synchronize(r, p, c, files, pusher))
			}
		}
		return queued, nil
	})
	return sha, err
}

// pushCommit commits changes onto branch (creating it from the default branch head) and
// queues the push webhook. Caller holds s.mu.
func (s *Sim) pushCommit(r *repo, branch string, changes map[string]string, message string, pusher *account) (*commit, *Delivery) {
	before, exists := r.branches[branch]
	parent := r.commits[before]
	if !exists {
		parent = r.commits[r.branches[r.defaultBranch]]
	}
	c := s.addCommit(parent, changes, message, pusher)
	r.commits[c.sha] = c
	r.branches[branch] = c.sha
	r.pushedAt, r.updatedAt = c.at, c.at
	return c, s.queuePush(r, branch, before, c, pusher)
}

// queuePush queues the push webhook for head now being the tip of branch; before is the
// previous tip ("" when the push created the branch). Caller holds s.mu.
func (s *Sim) queuePush(r *repo, branch, before string, head *commit, pusher *account) *Delivery {
	created := before == ""
	compare := fmt.Sprintf("%s/compare/%s...%s", s.repoWeb(r), shortSHA(before), shortSHA(head.sha))
	if created {
		before = zeroSHA
		compare = s.repoWeb(r) + "/compare/" + branch
	}
	hc := s.pushCommitObj(r, head)
	person := s.gitPerson(pusher)
	payload := s.envelope(r, pusher, obj{
		"ref": "refs/heads/" + branch, "before": before, "after": head.sha, "created": created,
		"deleted": false, "forced": false, "base_ref": nil, "compare": compare,
		"commits": []obj{hc}, "head_commit": hc,
		"pusher": obj{"name": person["name"], "email": person["email"]},
	})
	payload["repository"] = s.pushRepoObj(r)
	return s.queue("push", payload)
}

func shortSHA(sha string) string { return sha[:min(12, len(sha))] }

// SetCollaborator gives login a role on repo ("owner/name"): admin, maintain, write, triage,
// read, or none to remove it. It may be called before the repository exists. An unknown
// role panics: it is a mistake in the calling test.
func (s *Sim) SetCollaborator(repoName, login, permission string) {
	if !slices.Contains([]string{"admin", "maintain", "write", "triage", "read", "none"}, permission) {
		panic(fmt.Sprintf("githubsim: SetCollaborator: unknown permission %q (want admin, maintain, write, triage, read or none)", permission))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountFor(login)
	key := strings.ToLower(repoName)
	if s.collaborators[key] == nil {
		s.collaborators[key] = map[string]string{}
	}
	if permission == "none" {
		delete(s.collaborators[key], strings.ToLower(login))
	} else {
		s.collaborators[key][strings.ToLower(login)] = permission
	}
	delete(s.customRoles[key], strings.ToLower(login))
	s.notify()
}

// SetCustomRole gives login an organisation's custom repository role named roleName on repo,
// inheriting base (read, triage, write or maintain). The permission endpoint then answers
// role_name roleName and the legacy permission of base, as GitHub does. An unknown base panics.
func (s *Sim) SetCustomRole(repoName, login, roleName, base string) {
	if !slices.Contains([]string{"read", "triage", "write", "maintain"}, base) {
		panic(fmt.Sprintf("githubsim: SetCustomRole: unknown base role %q (want read, triage, write or maintain)", base))
	}
	s.SetCollaborator(repoName, login, base)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(repoName)
	if s.customRoles[key] == nil {
		s.customRoles[key] = map[string]string{}
	}
	s.customRoles[key][strings.ToLower(login)] = roleName
	s.notify()
}

// AddTeamMember makes login a member of org's team teamSlug (and so of the organisation,
// which GitHub reports as author_association MEMBER).
func (s *Sim) AddTeamMember(org, teamSlug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountFor(login)
	key := strings.ToLower(org + "/" + teamSlug)
	if s.teams[key] == nil {
		s.teams[key] = map[string]bool{}
	}
	s.teams[key][strings.ToLower(login)] = true
	delete(s.teamInvites[key], strings.ToLower(login))
	s.notify()
}

// InviteTeamMember invites login to org's team teamSlug: until AddTeamMember accepts it, the
// membership endpoint answers 200 with "state": "pending", and login is no organisation member.
func (s *Sim) InviteTeamMember(org, teamSlug, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountFor(login)
	key := strings.ToLower(org + "/" + teamSlug)
	if s.teams[key][strings.ToLower(login)] {
		return // a member already
	}
	if s.teamInvites[key] == nil {
		s.teamInvites[key] = map[string]bool{}
	}
	s.teamInvites[key][strings.ToLower(login)] = true
	s.notify()
}

// CreateDeployment creates a deployment of ref to environment as creator would from the UI
// or with their own token (no auto-merge or status-check gate), and sends deployment.created.
// production_environment is true when environment is "production".
func (s *Sim) CreateDeployment(repoName, ref, environment, creator string) (int64, error) {
	var id int64
	err := s.change(func() ([]*Delivery, error) {
		r, err := s.lookupRepo(repoName)
		if err != nil {
			return nil, fmt.Errorf("creating deployment in %s: %w", repoName, err)
		}
		c, ok := r.resolveRef(ref)
		if !ok {
			return nil, fmt.Errorf("creating deployment in %s: no commit for ref %q", repoName, ref)
		}
		now := s.now()
		d := &deployment{
			id: s.newID(), sha: c.sha, ref: ref, task: "deploy", env: environment, origEnv: environment,
			creator: s.accountFor(creator), payload: []byte("{}"), production: environment == "production",
			createdAt: now, updatedAt: now,
		}
		r.deployments = append(r.deployments, d)
		id = d.id
		return []*Delivery{s.queue("deployment", s.envelope(r, d.creator, obj{
			"action": "created", "deployment": s.deploymentObj(r, d), "workflow": nil, "workflow_run": nil,
		}))}, nil
	})
	return id, err
}

// collaboratorRole returns login's collaborator role on r, "" when none.
func (s *Sim) collaboratorRole(r *repo, login string) string {
	return s.collaborators[strings.ToLower(r.fullName())][strings.ToLower(login)]
}
