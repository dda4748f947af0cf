package githubsim

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// The inspection methods below return copies and never fail: an unknown repository,
// PR, comment or deployment yields an empty result.

// Repo describes repoName ("owner/name").
func (s *Sim) Repo(repoName string) (Repo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRepo(repoName)
	if err != nil {
		return Repo{}, err
	}
	return s.repoInfo(r), nil
}

// PR describes pull request number of repoName.
func (s *Sim) PR(repoName string, number int) (PR, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p, err := s.lookupPull(repoName, number)
	if err != nil {
		return PR{}, err
	}
	return p.info(r), nil
}

// Files returns the tree (path → content) at ref: a branch, SHA or refs/pull/N/head.
func (s *Sim) Files(repoName, ref string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRepo(repoName)
	if err != nil {
		return nil, err
	}
	c, ok := r.resolveRef(ref)
	if !ok {
		return nil, fmt.Errorf("%s has no ref %q", repoName, ref)
	}
	return maps.Clone(c.files), nil
}

// Comments returns the issue comments of PR number, oldest first.
func (s *Sim) Comments(repoName string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRepo(repoName)
	if err != nil {
		return nil
	}
	var out []Comment
	for _, c := range r.comments {
		if c.number == number {
			out = append(out, Comment{ID: c.id, Number: c.number, Author: c.author.login, Body: c.body, CreatedAt: c.createdAt, UpdatedAt: c.updatedAt})
		}
	}
	return out
}

// Reactions returns the contents ("+1", "eyes", …) of the reactions on a comment, oldest first.
func (s *Sim) Reactions(repoName string, commentID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRepo(repoName)
	if err != nil {
		return nil
	}
	for _, c := range r.comments {
		if c.id == commentID {
			var out []string
			for _, rc := range c.reactions {
				out = append(out, rc.content)
			}
			return out
		}
	}
	return nil
}

// CheckRuns returns every check run created for sha, oldest first.
func (s *Sim) CheckRuns(repoName, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRepo(repoName)
	if err != nil {
		return nil
	}
	var out []CheckRun
	for _, cr := range r.checkRuns {
		if cr.headSHA == sha {
			out = append(out, CheckRun{
				ID: cr.id, Name: cr.name, HeadSHA: cr.headSHA, Status: cr.status, Conclusion: cr.conclusion,
				ExternalID: cr.externalID, DetailsURL: cr.detailsURL, Title: cr.title, Summary: cr.summary,
				Text: cr.text, StartedAt: cr.startedAt, CompletedAt: cr.completedAt,
			})
		}
	}
	return out
}

// Deployments returns the deployments of repoName, oldest first.
func (s *Sim) Deployments(repoName string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRepo(repoName)
	if err != nil {
		return nil
	}
	var out []Deployment
	for _, d := range r.deployments {
		out = append(out, Deployment{
			ID: d.id, Ref: d.ref, SHA: d.sha, Task: d.task, Environment: d.env, OriginalEnvironment: d.origEnv,
			Description: d.description, Creator: d.creator.login, AutoMerge: d.autoMerge,
			RequiredContexts: slices.Clone(d.requiredContexts), TransientEnvironment: d.transient,
			ProductionEnvironment: d.production, Payload: append(json.RawMessage(nil), d.payload...),
			CreatedAt: d.createdAt,
		})
	}
	return out
}

// DeploymentStatuses returns the statuses of a deployment, oldest first.
func (s *Sim) DeploymentStatuses(repoName string, deploymentID int64) []DeploymentStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRepo(repoName)
	if err != nil {
		return nil
	}
	for _, d := range r.deployments {
		if d.id != deploymentID {
			continue
		}
		var out []DeploymentStatus
		for _, st := range d.statuses {
			out = append(out, DeploymentStatus{
				ID: st.id, State: st.state, Environment: st.env, EnvironmentURL: st.envURL, LogURL: st.logURL,
				TargetURL: st.targetURL, Description: st.descr, Creator: st.creator.login, CreatedAt: st.at,
			})
		}
		return out
	}
	return nil
}

// Labels returns the labels applied to PR number, in the order applied.
func (s *Sim) Labels(repoName string, number int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p, err := s.lookupPull(repoName, number)
	if err != nil {
		return nil
	}
	return slices.Clone(p.labels)
}

// Requests returns every API request answered so far, oldest first.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}
