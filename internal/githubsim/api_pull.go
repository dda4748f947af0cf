package githubsim

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxCommentChars is GitHub's limit on issue comment bodies.
const maxCommentChars = 65536

// pullRoutes registers the pulls, issues, comments, reactions and labels endpoints. The
// issues subtree is dispatched by hand because ServeMux cannot tell
// issues/{number}/comments from issues/comments/{id}.
func (s *Sim) pullRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.repoRoute(s.listPulls))
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.repoRoute(func(w http.ResponseWriter, r *http.Request, rp *repo) {
		if p := pullByPath(rp, r.PathValue("number")); p != nil {
			writeJSON(w, http.StatusOK, s.prObj(rp, p))
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	}))
	mux.HandleFunc("/repos/{owner}/{repo}/issues/{rest...}", s.repoRoute(s.issueRoutes))
}

func pullByPath(rp *repo, number string) *pull {
	n, err := strconv.Atoi(number)
	if err != nil || n < 1 || n > len(rp.pulls) {
		return nil
	}
	return rp.pulls[n-1]
}

func (s *Sim) listPulls(w http.ResponseWriter, r *http.Request, rp *repo) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var out []obj
	for _, p := range slices.Backward(rp.pulls) {
		switch {
		case state != "all" && p.state != state:
		case q.Get("base") != "" && q.Get("base") != p.baseRef:
		case q.Get("head") != "" && q.Get("head") != p.headRepo.owner.login+":"+p.headRef:
		default:
			out = append(out, s.prObj(rp, p))
		}
	}
	if q.Get("direction") == "asc" {
		slices.Reverse(out)
	}
	writePage(w, r, out)
}

func (s *Sim) listPullsForCommit(w http.ResponseWriter, r *http.Request, rp *repo, sha string) {
	var out []obj
	for _, p := range slices.Backward(rp.pulls) {
		if p.mergeCommitSHA == sha || slices.Contains(p.commitSHAs, sha) {
			out = append(out, s.prObj(rp, p))
		}
	}
	writePage(w, r, out)
}

// issueRoutes dispatches …/issues/{rest...}.
func (s *Sim) issueRoutes(w http.ResponseWriter, r *http.Request, rp *repo) {
	parts := strings.SplitN(r.PathValue("rest"), "/", 3)
	if parts[0] == "comments" && len(parts) >= 2 {
		c := commentByID(rp, parts[1])
		if c == nil {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		switch {
		case len(parts) == 2 && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, s.commentObj(rp, c))
		case len(parts) == 2 && r.Method == http.MethodPatch:
			s.editComment(w, r, rp, c)
		case len(parts) == 2 && r.Method == http.MethodDelete:
			rp.comments = slices.DeleteFunc(rp.comments, func(x *comment) bool { return x == c })
			s.notify()
			w.WriteHeader(http.StatusNoContent)
		case len(parts) == 3 && parts[2] == "reactions" && r.Method == http.MethodPost:
			s.addReaction(w, r, rp, c)
		case len(parts) == 3 && parts[2] == "reactions" && r.Method == http.MethodGet:
			var out []obj
			for _, rc := range c.reactions {
				out = append(out, s.reactionObj(rc))
			}
			writePage(w, r, out)
		default:
			writeError(w, http.StatusNotFound, "Not Found")
		}
		return
	}
	p := pullByPath(rp, parts[0])
	if p == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.issueObj(rp, p))
	case len(parts) == 2 && parts[1] == "comments" && r.Method == http.MethodGet:
		var out []obj
		for _, c := range rp.comments {
			if c.number == p.number {
				out = append(out, s.commentObj(rp, c))
			}
		}
		writePage(w, r, out)
	case len(parts) == 2 && parts[1] == "comments" && r.Method == http.MethodPost:
		s.createComment(w, r, rp, p)
	case len(parts) >= 2 && parts[1] == "labels":
		s.labelRoutes(w, r, rp, p, parts)
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

func commentByID(rp *repo, id string) *comment {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, c := range rp.comments {
		if c.id == n {
			return c
		}
	}
	return nil
}

// validCommentBody answers 422 as GitHub does for a missing or over-long body.
func validCommentBody(w http.ResponseWriter, body *string) bool {
	switch {
	case body == nil || *body == "":
		writeValidation(w, "IssueComment", "body", "missing_field", "")
		return false
	case utf8.RuneCountInString(*body) > maxCommentChars:
		writeValidation(w, "IssueComment", "body", "custom", "body is too long (maximum is 65536 characters)")
		return false
	}
	return true
}

func (s *Sim) createComment(w http.ResponseWriter, r *http.Request, rp *repo, p *pull) {
	var in struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &in) || !validCommentBody(w, in.Body) {
		return
	}
	now := s.now()
	c := &comment{id: s.newID(), number: p.number, author: s.botAccount(), body: *in.Body, createdAt: now, updatedAt: now, viaApp: true}
	rp.comments = append(rp.comments, c)
	p.updatedAt = now
	s.notify()
	w.Header().Set("Location", s.repoAPI(rp)+"/issues/comments/"+strconv.FormatInt(c.id, 10))
	writeJSON(w, http.StatusCreated, s.commentObj(rp, c))
}

func (s *Sim) editComment(w http.ResponseWriter, r *http.Request, rp *repo, c *comment) {
	var in struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &in) || !validCommentBody(w, in.Body) {
		return
	}
	c.body, c.updatedAt = *in.Body, s.now()
	s.notify()
	writeJSON(w, http.StatusOK, s.commentObj(rp, c))
}

func (s *Sim) reactionObj(rc reaction) obj {
	return obj{"id": rc.id, "node_id": nodeID("REA", rc.id), "user": s.userObj(rc.user), "content": rc.content, "created_at": ts(rc.at)}
}

func (s *Sim) addReaction(w http.ResponseWriter, r *http.Request, rp *repo, c *comment) {
	var in struct {
		Content string `json:"content"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if !slices.Contains(reactionContents(), in.Content) {
		writeValidation(w, "Reaction", "content", "invalid", "")
		return
	}
	bot := s.botAccount()
	for _, rc := range c.reactions {
		if rc.user == bot && rc.content == in.Content {
			writeJSON(w, http.StatusOK, s.reactionObj(rc))
			return
		}
	}
	rc := reaction{id: s.newID(), user: bot, content: in.Content, at: s.now()}
	c.reactions = append(c.reactions, rc)
	s.notify()
	writeJSON(w, http.StatusCreated, s.reactionObj(rc))
}

// labelNames accepts both body shapes GitHub does: ["a","b"] and {"labels":["a",{"name":"b"}]}.
func labelNames(body []byte) ([]string, bool) {
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var wrapped struct {
			Labels []json.RawMessage `json:"labels"`
		}
		if err := json.Unmarshal(body, &wrapped); err != nil {
			return nil, false
		}
		raw = wrapped.Labels
	}
	var names []string
	for _, item := range raw {
		var name string
		if err := json.Unmarshal(item, &name); err != nil {
			var named struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(item, &named); err != nil {
				return nil, false
			}
			name = named.Name
		}
		names = append(names, name)
	}
	return names, true
}

func (s *Sim) labelRoutes(w http.ResponseWriter, r *http.Request, rp *repo, p *pull, parts []string) {
	switch {
	case len(parts) == 3 && r.Method == http.MethodDelete:
		i := slices.IndexFunc(p.labels, func(l string) bool { return strings.EqualFold(l, parts[2]) })
		if i < 0 {
			writeError(w, http.StatusNotFound, "Label does not exist")
			return
		}
		p.labels = slices.Delete(p.labels, i, i+1)
	case len(parts) == 2 && r.Method == http.MethodDelete:
		p.labels = nil
		s.notify()
		w.WriteHeader(http.StatusNoContent)
		return
	case len(parts) == 2 && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		body, _ := io.ReadAll(r.Body) // already buffered by s.locked
		names, ok := labelNames(body)
		if !ok {
			writeError(w, http.StatusBadRequest, "Problems parsing JSON")
			return
		}
		if r.Method == http.MethodPut {
			p.labels = nil
		}
		for _, n := range names {
			l := s.labelFor(rp, n)
			if !slices.ContainsFunc(p.labels, func(x string) bool { return strings.EqualFold(x, n) }) {
				p.labels = append(p.labels, l.name)
			}
		}
	case len(parts) == 2 && r.Method == http.MethodGet:
	default:
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.notify()
	writePage(w, r, s.labelObjs(rp, p.labels))
}
