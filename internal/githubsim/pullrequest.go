package githubsim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the helpers that act on pull requests the way people do on github.com.
// Each sends its webhooks synchronously, in order, before returning; the sender of every
// pull_request webhook is the PR's author unless a helper takes an actor.

func (p *pull) info(r *repo) PR {
	return PR{
		Number: p.number, ID: p.id, Repo: r.fullName(), HeadRepo: p.headRepo.fullName(), Title: p.title,
		Body: p.body, Author: p.author.login, HeadRef: p.headRef, HeadSHA: p.headSHA, BaseRef: p.baseRef,
		BaseSHA: p.baseSHA, State: p.state, Draft: p.draft, Merged: p.merged,
		MergeCommitSHA: p.mergeCommitSHA, Labels: slices.Clone(p.labels),
	}
}

// queuePR queues a pull_request webhook. Caller holds s.mu.
func (s *Sim) queuePR(action string, r *repo, p *pull, sender *account, extra obj) *Delivery {
	payload := obj{"action": action, "number": p.number, "pull_request": s.prObj(r, p)}
	maps.Copy(payload, extra)
	return s.queue("pull_request", s.envelope(r, sender, payload))
}

// forkOf returns author's fork of r, creating it on first use. Caller holds s.mu.
func (s *Sim) forkOf(r *repo, author *account) (*repo, error) {
	key := strings.ToLower(author.login + "/" + r.name)
	if f, ok := s.repos[key]; ok {
		if f.parent != r {
			return nil, fmt.Errorf("forking %s: %s already exists and is not its fork", r.fullName(), f.fullName())
		}
		return f, nil
	}
	now := s.now()
	f := &repo{
		id: s.newID(), owner: author, name: r.name, fork: true, parent: r, defaultBranch: r.defaultBranch,
		createdAt: now, updatedAt: now, pushedAt: now, commits: maps.Clone(r.commits),
		branches: map[string]string{r.defaultBranch: r.branches[r.defaultBranch]}, labels: map[string]*label{},
	}
	s.repos[key] = f
	return f, nil
}

// OpenPR opens a pull request on repo ("owner/name"): it commits o.Files on a new head
// branch (in the author's fork with o.FromFork), sends push for a same-repository branch (as
// GitHub does), then pull_request.opened (draft honoured) and one pull_request.labeled per
// label in o.Labels.
func (s *Sim) OpenPR(repoName string, o PROptions) (PR, error) {
	var out PR
	err := s.change(func() ([]*Delivery, error) {
		r, err := s.lookupRepo(repoName)
		if err != nil {
			return nil, fmt.Errorf("opening a PR on %s: %w", repoName, err)
		}
		if r.fork {
			return nil, fmt.Errorf("opening a PR on %s: it is a fork; open the PR on its parent with FromFork", repoName)
		}
		author := s.accountFor(orDefault(o.Author, s.opts.DefaultUser))
		base := orDefault(o.Base, r.defaultBranch)
		baseSHA, ok := r.branches[base]
		if !ok {
			return nil, fmt.Errorf("opening a PR on %s: base branch %q does not exist", repoName, base)
		}
		number := len(r.pulls) + 1
		branch := orDefault(o.Branch, fmt.Sprintf("pr-%d", number))
		head := r
		if o.FromFork {
			if head, err = s.forkOf(r, author); err != nil {
				return nil, fmt.Errorf("opening a PR on %s: %w", repoName, err)
			}
		}
		if _, exists := head.branches[branch]; exists {
			return nil, fmt.Errorf("opening a PR on %s: branch %q already exists in %s", repoName, branch, head.fullName())
		}
		title := orDefault(o.Title, "Change "+branch)
		c := s.addCommit(r.commits[baseSHA], o.Files, title, author)
		r.commits[c.sha], head.commits[c.sha] = c, c
		head.branches[branch] = c.sha
		var queued []*Delivery
		if head == r {
			r.pushedAt = c.at
			queued = append(queued, s.queuePush(r, branch, "", c, author))
		}
		now := s.now()
		p := &pull{
			id: s.newID(), number: number, title: title, body: o.Body, author: author, headRepo: head,
			headRef: branch, headSHA: c.sha, baseRef: base, baseSHA: baseSHA, state: "open", draft: o.Draft,
			createdAt: now, updatedAt: now, commitSHAs: []string{c.sha}, changes: maps.Clone(o.Files),
		}
		s.newID() // the PR's issue id (issueObj uses p.id+1)
		if p.changes == nil {
			p.changes = map[string]string{}
		}
		for _, l := range o.Labels {
			if !slices.ContainsFunc(p.labels, func(x string) bool { return strings.EqualFold(x, l) }) {
				p.labels = append(p.labels, s.labelFor(r, l).name)
			}
		}
		r.pulls = append(r.pulls, p)
		queued = append(queued, s.queuePR("opened", r, p, author, nil))
		for _, l := range p.labels {
			queued = append(queued, s.queuePR("labeled", r, p, author, obj{"label": s.labelObj(r, s.labelFor(r, l))}))
		}
		out = p.info(r)
		return queued, nil
	})
	return out, err
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// openPull looks up an open pull request. Caller holds s.mu.
func (s *Sim) openPull(repoName string, number int) (*repo, *pull, error) {
	r, p, err := s.lookupPull(repoName, number)
	if err != nil {
		return nil, nil, err
	}
	if p.state != "open" {
		return nil, nil, fmt.Errorf("pull request %s#%d is closed", repoName, number)
	}
	return r, p, nil
}

// PushToPR adds a commit with files (path → content, "" deletes) to the PR's head branch as
// its author, sends push (same-repository branches only) and pull_request.synchronize, and
// returns the new head SHA.
func (s *Sim) PushToPR(repoName string, number int, files map[string]string) (string, error) {
	var sha string
	err := s.change(func() ([]*Delivery, error) {
		r, p, err := s.openPull(repoName, number)
		if err != nil {
			return nil, fmt.Errorf("pushing to a PR: %w", err)
		}
		before := p.headSHA
		c := s.addCommit(r.commits[before], files, fmt.Sprintf("Update %s", p.headRef), p.author)
		r.commits[c.sha], p.headRepo.commits[c.sha] = c, c
		p.headRepo.branches[p.headRef] = c.sha
		sha = c.sha
		var queued []*Delivery
		if p.headRepo == r {
			r.pushedAt = c.at
			queued = append(queued, s.queuePush(r, p.headRef, before, c, p.author))
		}
		return append(queued, s.synchronize(r, p, c, files, p.author)), nil
	})
	return sha, err
}

// synchronize moves the PR's head to c (whose changes are files) and queues
// pull_request.synchronize. Caller holds s.mu.
func (s *Sim) synchronize(r *repo, p *pull, c *commit, files map[string]string, sender *account) *Delivery {
	before := p.headSHA
	p.headSHA, p.baseSHA, p.updatedAt = c.sha, r.branches[p.baseRef], s.now()
	p.commitSHAs = append(p.commitSHAs, c.sha)
	maps.Copy(p.changes, files)
	return s.queuePR("synchronize", r, p, sender, obj{"before": before, "after": c.sha})
}

// AddLabel applies label to the PR as its author and sends pull_request.labeled; applying a
// label the PR already has does nothing, as on GitHub.
func (s *Sim) AddLabel(repoName string, number int, label string) error {
	return s.AddLabelBy(repoName, number, label, "")
}

// AddLabelBy is AddLabel performed by actor ("" means the PR author).
func (s *Sim) AddLabelBy(repoName string, number int, label, actor string) error {
	return s.change(func() ([]*Delivery, error) {
		r, p, err := s.lookupPull(repoName, number)
		if err != nil {
			return nil, fmt.Errorf("labelling: %w", err)
		}
		if slices.ContainsFunc(p.labels, func(x string) bool { return strings.EqualFold(x, label) }) {
			return nil, nil
		}
		l := s.labelFor(r, label)
		p.labels = append(p.labels, l.name)
		p.updatedAt = s.now()
		return []*Delivery{s.queuePR("labeled", r, p, s.actor(p, actor), obj{"label": s.labelObj(r, l)})}, nil
	})
}

// RemoveLabel removes label from the PR as its author and sends pull_request.unlabeled.
func (s *Sim) RemoveLabel(repoName string, number int, label string) error {
	return s.RemoveLabelBy(repoName, number, label, "")
}

// RemoveLabelBy is RemoveLabel performed by actor ("" means the PR author).
func (s *Sim) RemoveLabelBy(repoName string, number int, label, actor string) error {
	return s.change(func() ([]*Delivery, error) {
		r, p, err := s.lookupPull(repoName, number)
		if err != nil {
			return nil, fmt.Errorf("unlabelling: %w", err)
		}
		i := slices.IndexFunc(p.labels, func(x string) bool { return strings.EqualFold(x, label) })
		if i < 0 {
			return nil, fmt.Errorf("unlabelling %s#%d: label %q is not applied", repoName, number, label)
		}
		l := s.labelFor(r, p.labels[i])
		p.labels = slices.Delete(p.labels, i, i+1)
		p.updatedAt = s.now()
		return []*Delivery{s.queuePR("unlabeled", r, p, s.actor(p, actor), obj{"label": s.labelObj(r, l)})}, nil
	})
}

func (s *Sim) actor(p *pull, login string) *account {
	if login == "" {
		return p.author
	}
	return s.accountFor(login)
}

// MarkReady marks a draft PR ready for review and sends pull_request.ready_for_review.
func (s *Sim) MarkReady(repoName string, number int) error {
	return s.change(func() ([]*Delivery, error) {
		r, p, err := s.openPull(repoName, number)
		if err != nil {
			return nil, fmt.Errorf("marking ready: %w", err)
		}
		if !p.draft {
			return nil, fmt.Errorf("marking ready: %s#%d is not a draft", repoName, number)
		}
		p.draft, p.updatedAt = false, s.now()
		return []*Delivery{s.queuePR("ready_for_review", r, p, p.author, nil)}, nil
	})
}

// Comment posts an issue comment on the PR as author and sends issue_comment.created with
// that sender. An author ending in "[bot]" is a Bot; BotLogin() is the app itself.
func (s *Sim) Comment(repoName string, number int, author, body string) (int64, error) {
	if body == "" || utf8.RuneCountInString(body) > maxCommentChars {
		return 0, fmt.Errorf("commenting on %s#%d: body must have 1 to %d characters", repoName, number, maxCommentChars)
	}
	var id int64
	err := s.change(func() ([]*Delivery, error) {
		r, p, err := s.lookupPull(repoName, number)
		if err != nil {
			return nil, fmt.Errorf("commenting: %w", err)
		}
		now := s.now()
		a := s.accountFor(author)
		c := &comment{id: s.newID(), number: number, author: a, body: body, createdAt: now, updatedAt: now, viaApp: a == s.botAccount()}
		r.comments = append(r.comments, c)
		p.updatedAt = now
		id = c.id
		return []*Delivery{s.queue("issue_comment", s.envelope(r, a, obj{
			"action": "created", "issue": s.issueObj(r, p), "comment": s.commentObj(r, c),
		}))}, nil
	})
	return id, err
}

// ClosePR closes the PR as its author and sends pull_request.closed. With merge it first
// commits a merge commit (the PR's changes on top of the base head) to the base branch, and
// sends push for the base branch after the closed webhook.
func (s *Sim) ClosePR(repoName string, number int, merge bool) error {
	return s.change(func() ([]*Delivery, error) {
		r, p, err := s.openPull(repoName, number)
		if err != nil {
			return nil, fmt.Errorf("closing: %w", err)
		}
		now := s.now()
		p.state, p.closedAt, p.updatedAt = "closed", now, now
		if !merge {
			return []*Delivery{s.queuePR("closed", r, p, p.author, nil)}, nil
		}
		before := r.branches[p.baseRef]
		msg := fmt.Sprintf("Merge pull request #%d from %s:%s\n\n%s", p.number, p.headRepo.owner.login, p.headRef, p.title)
		c := s.addCommit(r.commits[before], p.changes, msg, p.author, p.headSHA)
		r.commits[c.sha] = c
		r.branches[p.baseRef] = c.sha
		r.pushedAt = c.at
		p.merged, p.mergedAt, p.mergedBy, p.mergeCommitSHA = true, now, p.author, c.sha
		p.baseSHA = before
		return []*Delivery{
			s.queuePR("closed", r, p, p.author, nil),
			s.queuePush(r, p.baseRef, before, c, p.author),
		}, nil
	})
}

// ReopenPR reopens a closed, unmerged PR and sends pull_request.reopened.
func (s *Sim) ReopenPR(repoName string, number int) error {
	return s.change(func() ([]*Delivery, error) {
		r, p, err := s.lookupPull(repoName, number)
		if err != nil {
			return nil, fmt.Errorf("reopening: %w", err)
		}
		if p.state != "closed" || p.merged {
			return nil, fmt.Errorf("reopening %s#%d: only closed, unmerged PRs can be reopened", repoName, number)
		}
		p.state, p.closedAt, p.updatedAt = "open", time.Time{}, s.now()
		p.baseSHA = r.branches[p.baseRef]
		return []*Delivery{s.queuePR("reopened", r, p, p.author, nil)}, nil
	})
}
