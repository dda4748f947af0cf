package githubsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

func (s *Sim) deployRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /repos/{owner}/{repo}/deployments", s.repoRoute(s.createDeployment))
	mux.HandleFunc("GET /repos/{owner}/{repo}/deployments", s.repoRoute(s.listDeployments))
	mux.HandleFunc("GET /repos/{owner}/{repo}/deployments/{id}", s.repoRoute(func(w http.ResponseWriter, r *http.Request, rp *repo) {
		if d := deploymentByPath(rp, r.PathValue("id")); d != nil {
			writeJSON(w, http.StatusOK, s.deploymentObj(rp, d))
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}))
	mux.HandleFunc("POST /repos/{owner}/{repo}/deployments/{id}/statuses", s.repoRoute(s.createDeploymentStatus))
	mux.HandleFunc("GET /repos/{owner}/{repo}/deployments/{id}/statuses", s.repoRoute(func(w http.ResponseWriter, r *http.Request, rp *repo) {
		d := deploymentByPath(rp, r.PathValue("id"))
		if d == nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		var out []obj
		for _, st := range slices.Backward(d.statuses) {
			out = append(out, s.deploymentStatusObj(rp, d, st))
		}
		writePage(w, r, out)
	}))
}

func deploymentByPath(rp *repo, id string) *deployment {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, d := range rp.deployments {
		if d.id == n {
			return d
		}
	}
	return nil
}

func (s *Sim) deploymentObj(rp *repo, d *deployment) obj {
	u := s.repoAPI(rp) + "/deployments/" + strconv.FormatInt(d.id, 10)
	payload := d.payload
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	var app any
	if d.viaApp {
		app = s.appObj()
	}
	return obj{
		"url": u, "id": d.id, "node_id": nodeID("DE", d.id), "sha": d.sha, "ref": d.ref, "task": d.task,
		"payload": payload, "original_environment": d.origEnv, "environment": d.env,
		"description": d.description, "creator": s.userObj(d.creator), "created_at": ts(d.createdAt),
		"updated_at": ts(d.updatedAt), "statuses_url": u + "/statuses", "repository_url": s.repoAPI(rp),
		"transient_environment": d.transient, "production_environment": d.production,
		"performed_via_github_app": app,
	}
}

func (s *Sim) deploymentStatusObj(rp *repo, d *deployment, st *deploymentStatus) obj {
	du := s.repoAPI(rp) + "/deployments/" + strconv.FormatInt(d.id, 10)
	return obj{
		"url": du + "/statuses/" + strconv.FormatInt(st.id, 10), "id": st.id, "node_id": nodeID("DES", st.id),
		"state": st.state, "creator": s.userObj(st.creator), "description": st.descr, "environment": st.env,
		"target_url": st.targetURL, "log_url": st.logURL, "environment_url": st.envURL,
		"created_at": ts(st.at), "updated_at": ts(st.at), "deployment_url": du, "repository_url": s.repoAPI(rp),
		"performed_via_github_app": s.appObj(),
	}
}

func (s *Sim) listDeployments(w http.ResponseWriter, r *http.Request, rp *repo) {
	q := r.URL.Query()
	var out []obj
	for _, d := range slices.Backward(rp.deployments) {
		switch {
		case q.Get("sha") != "" && q.Get("sha") != d.sha:
		case q.Get("ref") != "" && q.Get("ref") != d.ref:
		case q.Get("task") != "" && q.Get("task") != d.task:
		case q.Get("environment") != "" && q.Get("environment") != d.env:
		default:
			out = append(out, s.deploymentObj(rp, d))
		}
	}
	writePage(w, r, out)
}

// createDeployment mirrors POST …/deployments including its traps: auto_merge defaults to
// true (a ref behind the default branch answers 409 instead of deploying) and omitted
// required_contexts means every check on the commit must have succeeded (409 otherwise).
func (s *Sim) createDeployment(w http.ResponseWriter, r *http.Request, rp *repo) {
	var in struct {
		Ref                   *string         `json:"ref"`
		Task                  *string         `json:"task"`
		AutoMerge             *bool           `json:"auto_merge"`
		RequiredContexts      *[]string       `json:"required_contexts"`
		Payload               json.RawMessage `json:"payload"`
		Environment           *string         `json:"environment"`
		Description           *string         `json:"description"`
		TransientEnvironment  *bool           `json:"transient_environment"`
		ProductionEnvironment *bool           `json:"production_environment"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Ref == nil || *in.Ref == "" {
		writeValidation(w, "Deployment", "ref", "missing_field", "")
		return
	}
	c, ok := rp.resolveRef(*in.Ref)
	if !ok {
		writeValidation(w, "Deployment", "ref", "invalid", "No ref found for: "+*in.Ref)
		return
	}
	autoMerge := in.AutoMerge == nil || *in.AutoMerge
	if _, isBranch := rp.branches[*in.Ref]; autoMerge && isBranch && *in.Ref != rp.defaultBranch &&
		!rp.isAncestor(rp.branches[rp.defaultBranch], c.sha) {
		writeError(w, http.StatusConflict, fmt.Sprintf("Conflict merging %s into %s.", rp.defaultBranch, *in.Ref))
		return
	}
	if failing := s.failingContexts(rp, c.sha, in.RequiredContexts); len(failing) > 0 {
		writeJSON(w, http.StatusConflict, obj{
			"message":           "Conflict: Commit status checks failed for " + *in.Ref + ".",
			"errors":            []obj{{"contexts": failing, "resource": "Deployment", "field": "required_contexts", "code": "invalid"}},
			"documentation_url": docsURL, "status": "409",
		})
		return
	}
	str := func(p *string, def string) string {
		if p == nil || *p == "" {
			return def
		}
		return *p
	}
	env := str(in.Environment, "production")
	payload := bytes.TrimSpace(in.Payload)
	if len(payload) == 0 || bytes.Equal(payload, []byte("null")) || bytes.Equal(payload, []byte(`""`)) {
		payload = []byte("{}")
	}
	now := s.now()
	d := &deployment{
		id: s.newID(), sha: c.sha, ref: *in.Ref, task: str(in.Task, "deploy"), env: env, origEnv: env,
		description: str(in.Description, ""), creator: s.botAccount(), payload: json.RawMessage(payload),
		autoMerge: autoMerge, transient: in.TransientEnvironment != nil && *in.TransientEnvironment,
		production: env == "production", createdAt: now, updatedAt: now, viaApp: true,
	}
	if in.ProductionEnvironment != nil {
		d.production = *in.ProductionEnvironment
	}
	if in.RequiredContexts != nil {
		d.requiredContexts = append([]string{}, *in.RequiredContexts...)
	}
	rp.deployments = append(rp.deployments, d)
	s.notify()
	writeJSON(w, http.StatusCreated, s.deploymentObj(rp, d))
}

// failingContexts lists the check runs on sha that block a deployment: all of them when
// required is nil, the named ones otherwise. A context passes when its latest run completed
// with success, neutral or skipped.
func (s *Sim) failingContexts(rp *repo, sha string, required *[]string) []obj {
	latest := map[string]*checkRun{}
	var names []string
	for _, cr := range rp.checkRuns {
		if cr.headSHA != sha {
			continue
		}
		if latest[cr.name] == nil {
			names = append(names, cr.name)
		}
		latest[cr.name] = cr
	}
	if required != nil {
		names = *required
	}
	var failing []obj
	for _, n := range names {
		state := "pending"
		if cr := latest[n]; cr != nil && cr.status == "completed" {
			state = "failure"
			if slices.Contains([]string{"success", "neutral", "skipped"}, cr.conclusion) {
				continue
			}
		}
		failing = append(failing, obj{"context": n, "state": state})
	}
	return failing
}

func (s *Sim) createDeploymentStatus(w http.ResponseWriter, r *http.Request, rp *repo) {
	d := deploymentByPath(rp, r.PathValue("id"))
	if d == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var in struct {
		State          string `json:"state"`
		TargetURL      string `json:"target_url"`
		LogURL         string `json:"log_url"`
		Description    string `json:"description"`
		Environment    string `json:"environment"`
		EnvironmentURL string `json:"environment_url"`
		AutoInactive   *bool  `json:"auto_inactive"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	states := []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
	if !slices.Contains(states, in.State) {
		writeValidation(w, "DeploymentStatus", "state", "invalid", "")
		return
	}
	if utf8.RuneCountInString(in.Description) > 140 {
		writeValidation(w, "DeploymentStatus", "description", "custom", "description is too long (maximum is 140 characters)")
		return
	}
	if in.LogURL == "" {
		in.LogURL = in.TargetURL
	}
	if in.Environment != "" {
		d.env = in.Environment
	}
	now := s.now()
	st := &deploymentStatus{
		id: s.newID(), state: in.State, env: d.env, envURL: in.EnvironmentURL, logURL: in.LogURL,
		targetURL: in.LogURL, descr: in.Description, creator: s.botAccount(), at: now,
	}
	d.statuses = append(d.statuses, st)
	d.updatedAt = now
	if in.State == "success" && (in.AutoInactive == nil || *in.AutoInactive) {
		s.inactivatePrior(rp, d, now)
	}
	s.notify()
	writeJSON(w, http.StatusCreated, s.deploymentStatusObj(rp, d, st))
}

// inactivatePrior applies GitHub's auto_inactive rule: every earlier deployment of the same
// environment that is neither transient nor production and whose latest status is success
// gets an inactive status.
func (s *Sim) inactivatePrior(rp *repo, d *deployment, now time.Time) {
	for _, prev := range rp.deployments {
		if prev.id >= d.id || prev.env != d.env || prev.transient || prev.production || len(prev.statuses) == 0 {
			continue
		}
		if last := prev.statuses[len(prev.statuses)-1]; last.state != "success" {
			continue
		}
		prev.statuses = append(prev.statuses, &deploymentStatus{
			id: s.newID(), state: "inactive", env: prev.env, creator: s.botAccount(), at: now,
			descr: "", envURL: "", logURL: "", targetURL: "",
		})
		prev.updatedAt = now
	}
}
