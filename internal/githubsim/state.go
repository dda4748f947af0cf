package githubsim

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Account kinds, as GitHub's "type" field spells them.
const (
	kindUser = "User"
	kindOrg  = "Organization"
	kindBot  = "Bot"
)

// account is a user, organisation or bot login.
type account struct {
	login string
	id    int64
	kind  string
}

type installation struct {
	id        int64
	account   *account
	createdAt time.Time
}

// commit is a full snapshot of a tree plus what changed against its first parent.
type commit struct {
	sha, treeSHA string
	parents      []string
	message      string
	author       *account
	at           time.Time
	files        map[string]string
	added        []string
	modified     []string
	removed      []string
}

type label struct {
	id    int64
	name  string
	color string
}

type repo struct {
	id             int64
	owner          *account
	name           string
	installationID int64
	fork           bool
	parent         *repo
	defaultBranch  string
	createdAt      time.Time
	updatedAt      time.Time
	pushedAt       time.Time
	commits        map[string]*commit
	branches       map[string]string
	labels         map[string]*label
	pulls          []*pull // pulls[i].number == i+1
	comments       []*comment
	checkRuns      []*checkRun
	deployments    []*deployment
}

func (r *repo) fullName() string { return r.owner.login + "/" + r.name }

type pull struct {
	id             int64
	number         int
	title, body    string
	author         *account
	headRepo       *repo
	headRef        string
	headSHA        string
	baseRef        string
	baseSHA        string
	state          string
	draft, merged  bool
	labels         []string
	mergeCommitSHA string
	mergedBy       *account
	createdAt      time.Time
	updatedAt      time.Time
	closedAt       time.Time
	mergedAt       time.Time
	commitSHAs     []string
	changes        map[string]string // path → content relative to the base, "" = deleted
}

type reaction struct {
	id      int64
	user    *account
	content string
	at      time.Time
}

type comment struct {
	id        int64
	number    int
	author    *account
	body      string
	createdAt time.Time
	updatedAt time.Time
	reactions []reaction
	viaApp    bool
}

type checkRun struct {
	id, suiteID                                int64
	name, headSHA, status, conclusion          string
	externalID, detailsURL                     string
	hasOutput                                  bool
	title, summary, text                       string
	startedAt, completedAt, createdAt, updated time.Time
}

type deployment struct {
	id                    int64
	sha, ref, task, env   string
	origEnv, description  string
	creator               *account
	payload               json.RawMessage
	autoMerge             bool
	requiredContexts      []string
	transient, production bool
	createdAt, updatedAt  time.Time
	statuses              []*deploymentStatus
	viaApp                bool
}

type deploymentStatus struct {
	id                       int64
	state, env, envURL       string
	logURL, targetURL, descr string
	creator                  *account
	at                       time.Time
}

// newID returns the next id; all object kinds share one sequence. Caller holds s.mu.
func (s *Sim) newID() int64 {
	s.nextID++
	return s.nextID
}

// now returns the injected clock's time truncated to seconds, as GitHub's timestamps are.
func (s *Sim) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

// accountFor returns the account for login, creating a user (or bot for "…[bot]") on first use.
func (s *Sim) accountFor(login string) *account {
	key := strings.ToLower(login)
	if a, ok := s.accounts[key]; ok {
		return a
	}
	kind := kindUser
	if strings.HasSuffix(login, "[bot]") {
		kind = kindBot
	}
	a := &account{login: login, id: s.newID(), kind: kind}
	s.accounts[key] = a
	return a
}

func (s *Sim) botAccount() *account { return s.accountFor(s.opts.AppSlug + "[bot]") }

// lookupRepo finds a repository by "owner/name" (case-insensitive).
func (s *Sim) lookupRepo(fullName string) (*repo, error) {
	r, ok := s.repos[strings.ToLower(fullName)]
	if !ok {
		return nil, fmt.Errorf("repository %q does not exist: create it with CreateRepo", fullName)
	}
	return r, nil
}

func (s *Sim) lookupPull(fullName string, number int) (*repo, *pull, error) {
	r, err := s.lookupRepo(fullName)
	if err != nil {
		return nil, nil, err
	}
	if number < 1 || number > len(r.pulls) {
		return nil, nil, fmt.Errorf("pull request %s#%d does not exist", fullName, number)
	}
	return r, r.pulls[number-1], nil
}

func (s *Sim) installationOf(r *repo) *installation { return s.installations[r.installationID] }

// blobSHA is git's object id of a blob with content.
func blobSHA(content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00%s", len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}

func treeSHA(files map[string]string) string {
	h := sha1.New()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s %s\n", p, blobSHA(files[p]))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// addCommit creates a commit on top of parent (may be nil) applying changes (path → content,
// "" deletes) and returns it; the caller stores it. extraParents follow parent (merges).
// Caller holds s.mu.
func (s *Sim) addCommit(parent *commit, changes map[string]string, message string, author *account, extraParents ...string) *commit {
	files := map[string]string{}
	var parents []string
	if parent != nil {
		maps.Copy(files, parent.files)
		parents = append(parents, parent.sha)
	}
	parents = append(parents, extraParents...)
	c := &commit{message: message, author: author, at: s.now(), parents: parents}
	for _, p := range slices.Sorted(maps.Keys(changes)) {
		content := changes[p]
		old, existed := files[p]
		switch {
		case content == "" && existed:
			delete(files, p)
			c.removed = append(c.removed, p)
		case content == "":
		case !existed:
			files[p] = content
			c.added = append(c.added, p)
		case old != content:
			files[p] = content
			c.modified = append(c.modified, p)
		}
	}
	c.files = files
	c.treeSHA = treeSHA(files)
	h := sha1.New()
	fmt.Fprintf(h, "tree %s\nparents %s\nauthor %s %d\nseq %d\n\n%s", c.treeSHA, strings.Join(parents, " "),
		author.login, c.at.Unix(), s.newID(), message)
	c.sha = hex.EncodeToString(h.Sum(nil))
	return c
}

// resolveRef finds the commit a ref names: a full or abbreviated SHA, a branch, "heads/x",
// "refs/heads/x" or "refs/pull/N/head". Caller holds s.mu.
func (r *repo) resolveRef(ref string) (*commit, bool) {
	if ref == "" {
		ref = r.defaultBranch
	}
	if c, ok := r.commits[ref]; ok {
		return c, true
	}
	name := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/"), "heads/")
	if sha, ok := r.branches[name]; ok {
		return r.commits[sha], true
	}
	var n int
	if _, err := fmt.Sscanf(ref, "refs/pull/%d/head", &n); err == nil && n >= 1 && n <= len(r.pulls) {
		return r.commits[r.pulls[n-1].headSHA], true
	}
	if len(ref) >= 4 && len(ref) < 40 && isHex(ref) {
		var found *commit
		for sha, c := range r.commits {
			if strings.HasPrefix(sha, ref) {
				if found != nil {
					return nil, false
				}
				found = c
			}
		}
		return found, found != nil
	}
	return nil, false
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// isAncestor reports whether ancestor is reachable from c by parent links.
func (r *repo) isAncestor(ancestor, c string) bool {
	seen := map[string]bool{}
	queue := []string{c}
	for len(queue) > 0 {
		sha := queue[0]
		queue = queue[1:]
		if sha == ancestor {
			return true
		}
		if seen[sha] {
			continue
		}
		seen[sha] = true
		if cm, ok := r.commits[sha]; ok {
			queue = append(queue, cm.parents...)
		}
	}
	return false
}

// labelFor returns the repository label called name, creating it on first use as GitHub's
// UI does when a label is applied.
func (s *Sim) labelFor(r *repo, name string) *label {
	key := strings.ToLower(name)
	if l, ok := r.labels[key]; ok {
		return l
	}
	l := &label{id: s.newID(), name: name, color: "ededed"}
	r.labels[key] = l
	return l
}

// authorAssociation mirrors GitHub's author_association for login on r.
func (s *Sim) authorAssociation(r *repo, a *account) string {
	switch {
	case strings.EqualFold(a.login, r.owner.login):
		return "OWNER"
	case r.owner.kind == kindOrg && s.isOrgMember(r.owner.login, a.login):
		return "MEMBER"
	case s.collaboratorRole(r, a.login) != "":
		return "COLLABORATOR"
	}
	for _, p := range r.pulls {
		if p.merged && p.author == a {
			return "CONTRIBUTOR"
		}
	}
	return "NONE"
}

func (s *Sim) isOrgMember(org, login string) bool {
	prefix := strings.ToLower(org) + "/"
	for key, members := range s.teams {
		if strings.HasPrefix(key, prefix) && members[strings.ToLower(login)] {
			return true
		}
	}
	return false
}

// permissionOf returns login's role on r: admin, maintain, write, triage, read or none.
func (s *Sim) permissionOf(r *repo, login string) string {
	if strings.EqualFold(login, r.owner.login) {
		return "admin"
	}
	if p := s.collaboratorRole(r, login); p != "" {
		return p
	}
	return "none"
}
