package githubsim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// maxCheckOutputChars is GitHub's limit on a check run's output summary and text.
const maxCheckOutputChars = 65535

func (s *Sim) checkRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /repos/{owner}/{repo}/check-runs", s.repoRoute(func(w http.ResponseWriter, r *http.Request, rp *repo) {
		s.writeCheckRun(w, r, rp, nil)
	}))
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/check-runs/{id}", s.repoRoute(func(w http.ResponseWriter, r *http.Request, rp *repo) {
		if cr := checkRunByPath(rp, r.PathValue("id")); cr != nil {
			s.writeCheckRun(w, r, rp, cr)
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}))
	mux.HandleFunc("GET /repos/{owner}/{repo}/check-runs/{id}", s.repoRoute(func(w http.ResponseWriter, r *http.Request, rp *repo) {
		if cr := checkRunByPath(rp, r.PathValue("id")); cr != nil {
			writeJSON(w, http.StatusOK, s.checkRunObj(rp, cr))
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}))
}

func checkRunByPath(rp *repo, id string) *checkRun {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, cr := range rp.checkRuns {
		if cr.id == n {
			return cr
		}
	}
	return nil
}

// writeInvalid answers the 422 the checks API gives for schema violations.
func writeInvalid(w http.ResponseWriter, detail string) {
	writeJSON(w, http.StatusUnprocessableEntity, obj{
		"message": "Invalid request.\n\n" + detail, "documentation_url": docsURL, "status": "422",
	})
}

type checkRunInput struct {
	Name        *string    `json:"name"`
	HeadSHA     *string    `json:"head_sha"`
	DetailsURL  *string    `json:"details_url"`
	ExternalID  *string    `json:"external_id"`
	Status      *string    `json:"status"`
	Conclusion  *string    `json:"conclusion"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Output      *struct {
		Title   *string `json:"title"`
		Summary *string `json:"summary"`
		Text    *string `json:"text"`
	} `json:"output"`
}

// validate checks in against GitHub's rules; creating says whether name and head_sha are required.
func (in *checkRunInput) validate(creating bool) string {
	statuses := []string{"queued", "in_progress", "completed", "waiting", "requested", "pending"}
	conclusions := []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}
	switch {
	case creating && (in.Name == nil || *in.Name == ""):
		return `"name" wasn't supplied.`
	case creating && (in.HeadSHA == nil || *in.HeadSHA == ""):
		return `"head_sha" wasn't supplied.`
	case in.Status != nil && !slices.Contains(statuses, *in.Status):
		return fmt.Sprintf("%q is not a member of %q.", *in.Status, statuses)
	case in.Conclusion != nil && !slices.Contains(conclusions, *in.Conclusion):
		return fmt.Sprintf("%q is not a member of %q.", *in.Conclusion, conclusions)
	case in.Status != nil && *in.Status == "completed" && in.Conclusion == nil:
		return `"conclusion" wasn't supplied.`
	}
	if o := in.Output; o != nil {
		switch {
		case o.Title == nil:
			return `"title" wasn't supplied.`
		case o.Summary == nil:
			return `"summary" wasn't supplied.`
		}
		for _, v := range []*string{o.Summary, o.Text} {
			if v != nil && utf8.RuneCountInString(*v) > maxCheckOutputChars {
				return fmt.Sprintf("Only %d characters are allowed; %d were supplied.", maxCheckOutputChars, utf8.RuneCountInString(*v))
			}
		}
	}
	return ""
}

// writeCheckRun creates (cr == nil) or updates a check run.
func (s *Sim) writeCheckRun(w http.ResponseWriter, r *http.Request, rp *repo, cr *checkRun) {
	var in checkRunInput
	if !decodeBody(w, r, &in) {
		return
	}
	if msg := in.validate(cr == nil); msg != "" {
		writeInvalid(w, msg)
		return
	}
	now := s.now()
	status := http.StatusOK
	if cr == nil {
		if _, ok := rp.commits[*in.HeadSHA]; !ok {
			writeValidation(w, "CheckRun", "head_sha", "invalid", "No commit found for SHA: "+*in.HeadSHA)
			return
		}
		cr = &checkRun{id: s.newID(), name: *in.Name, headSHA: *in.HeadSHA, status: "queued", createdAt: now}
		cr.suiteID = s.newID()
		for _, other := range rp.checkRuns {
			if other.headSHA == cr.headSHA {
				cr.suiteID = other.suiteID
				break
			}
		}
		rp.checkRuns = append(rp.checkRuns, cr)
		status = http.StatusCreated
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	if in.Name != nil && *in.Name != "" {
		cr.name = *in.Name
	}
	set(&cr.detailsURL, in.DetailsURL)
	set(&cr.externalID, in.ExternalID)
	set(&cr.status, in.Status)
	if in.Conclusion != nil {
		cr.conclusion, cr.status = *in.Conclusion, "completed"
	}
	if in.StartedAt != nil {
		cr.startedAt = in.StartedAt.UTC()
	} else if cr.startedAt.IsZero() {
		cr.startedAt = now
	}
	if in.CompletedAt != nil {
		cr.completedAt = in.CompletedAt.UTC()
	} else if cr.status == "completed" && cr.completedAt.IsZero() {
		cr.completedAt = now
	}
	if o := in.Output; o != nil {
		cr.hasOutput = true
		set(&cr.title, o.Title)
		set(&cr.summary, o.Summary)
		set(&cr.text, o.Text)
	}
	cr.updated = now
	s.notify()
	writeJSON(w, status, s.checkRunObj(rp, cr))
}

func (s *Sim) checkRunObj(rp *repo, cr *checkRun) obj {
	u := s.repoAPI(rp) + "/check-runs/" + strconv.FormatInt(cr.id, 10)
	prs := []obj{}
	for _, p := range rp.pulls {
		if p.state == "open" && p.headSHA == cr.headSHA && p.headRepo == rp {
			ref := func(name, sha string) obj {
				return obj{"ref": name, "sha": sha, "repo": obj{"id": rp.id, "url": s.repoAPI(rp), "name": rp.name}}
			}
			prs = append(prs, obj{
				"url": fmt.Sprintf("%s/pulls/%d", s.repoAPI(rp), p.number), "id": p.id, "number": p.number,
				"head": ref(p.headRef, p.headSHA), "base": ref(p.baseRef, p.baseSHA),
			})
		}
	}
	return obj{
		"id": cr.id, "node_id": nodeID("CR", cr.id), "head_sha": cr.headSHA, "external_id": cr.externalID,
		"url": u, "html_url": fmt.Sprintf("%s/runs/%d", s.repoWeb(rp), cr.id), "details_url": strOrNil(cr.detailsURL),
		"status": cr.status, "conclusion": strOrNil(cr.conclusion), "started_at": tsOrNil(cr.startedAt),
		"completed_at": tsOrNil(cr.completedAt), "name": cr.name,
		"output": obj{
			"title": strOrNil(cr.title), "summary": strOrNil(cr.summary), "text": strOrNil(cr.text),
			"annotations_count": 0, "annotations_url": u + "/annotations",
		},
		"check_suite": obj{"id": cr.suiteID}, "app": s.appObj(), "pull_requests": prs,
	}
}

// listCheckRunsForRef answers GET …/commits/{ref}/check-runs. Like GitHub, filter=latest
// (the default) keeps only the newest run of each name; filter=all keeps every run.
func (s *Sim) listCheckRunsForRef(w http.ResponseWriter, r *http.Request, rp *repo, ref string) {
	c, ok := rp.resolveRef(ref)
	if !ok {
		writeValidation(w, "Commit", "sha", "invalid", "No commit found for SHA: "+ref)
		return
	}
	q := r.URL.Query()
	seen := map[string]bool{}
	var runs []obj
	for _, cr := range slices.Backward(rp.checkRuns) {
		switch {
		case cr.headSHA != c.sha:
		case q.Get("check_name") != "" && q.Get("check_name") != cr.name:
		case q.Get("status") != "" && q.Get("status") != cr.status:
		case q.Get("filter") != "all" && seen[cr.name]:
		default:
			seen[cr.name] = true
			runs = append(runs, s.checkRunObj(rp, cr))
		}
	}
	total := len(runs)
	page := paginate(w, r, runs)
	if page == nil {
		page = []obj{}
	}
	writeJSON(w, http.StatusOK, obj{"total_count": total, "check_runs": page})
}
