package githubsim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

const docsURL = "https://docs.github.com/rest"

// obj is a JSON object under construction.
type obj = map[string]any

// handler builds the router: path normalisation, request recording and faults around a
// ServeMux whose catch-all answers GitHub's JSON 404.
func (s *Sim) handler() http.Handler {
	mux := http.NewServeMux()
	s.appRoutes(mux)
	s.repoRoutes(mux)
	s.pullRoutes(mux)
	s.checkRoutes(mux)
	s.deployRoutes(mux)
	s.manifestRoutes(mux)
	mux.HandleFunc("GET /_codeload/{owner}/{repo}/{kind}/{sha}", s.serveArchive)
	mux.HandleFunc("GET /_raw/{owner}/{repo}/{sha}/{path...}", s.serveRaw)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	})
	rates := &rateCounter{used: map[int64]int{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := &reqInfo{}
		if p, ok := strings.CutPrefix(r.URL.Path, apiPrefix); ok && (p == "" || p[0] == '/') {
			r2 := r.Clone(r.Context())
			r2.URL.Path = p
			if p == "" {
				r2.URL.Path = "/"
			}
			r2.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, apiPrefix)
			r = r2
		}
		r = r.WithContext(withInfo(r.Context(), ri))
		rec := &statusRecorder{ResponseWriter: w, info: ri, rates: rates, now: s.now}
		h := w.Header()
		h.Set("X-GitHub-Request-Id", requestID())
		h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
		h.Set("X-GitHub-Media-Type", "github.v3; format=json")
		if !s.applyFault(rec, r, ri) {
			mux.ServeHTTP(rec, r)
		}
		s.record(r, rec.status, ri)
	})
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b[:2]) + ":" + hex.EncodeToString(b[2:]))
}

// record appends the request to the log and wakes waiters.
func (s *Sim) record(r *http.Request, status int, ri *reqInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method:         r.Method,
		Path:           r.URL.Path,
		Query:          r.URL.RawQuery,
		Status:         status,
		InstallationID: ri.installationID,
		AppJWT:         ri.app,
		Fault:          ri.fault,
		At:             s.now(),
	})
	s.notify()
	s.opts.Logger.Debug("github api request", "method", r.Method, "path", r.URL.Path, "status", status,
		"installation_id", ri.installationID, "fault", ri.fault)
}

// rateCounter counts requests per installation for the X-RateLimit headers. It never limits:
// use a Fault with RateLimitReset for that.
type rateCounter struct {
	mu   sync.Mutex
	used map[int64]int
}

// statusRecorder remembers the status and adds rate-limit headers as GitHub does.
type statusRecorder struct {
	http.ResponseWriter
	info   *reqInfo
	rates  *rateCounter
	now    func() time.Time
	status int
}

func (rw *statusRecorder) WriteHeader(code int) {
	if rw.status != 0 {
		return
	}
	rw.status = code
	h := rw.Header()
	if h.Get("X-RateLimit-Limit") == "" && (rw.info.installationID != 0 || rw.info.app) {
		rw.rates.mu.Lock()
		rw.rates.used[rw.info.installationID]++
		used := rw.rates.used[rw.info.installationID]
		rw.rates.mu.Unlock()
		reset := rw.now().Truncate(time.Hour).Add(time.Hour)
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, 5000-used)))
		h.Set("X-RateLimit-Used", strconv.Itoa(used))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *statusRecorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}
	return rw.ResponseWriter.Write(b)
}

// locked runs h under s.mu with the request body already read and the response buffered,
// so no network I/O happens while the lock is held.
func (s *Sim) locked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			writeError(w, http.StatusBadRequest, "Problems reading the request body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		buf := httptest.NewRecorder()
		s.mu.Lock()
		h(buf, r)
		s.mu.Unlock()
		for k, v := range buf.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(buf.Code)
		_, _ = w.Write(buf.Body.Bytes())
	}
}

// repoRoute wraps a handler for /repos/{owner}/{repo}/…: it needs an installation token
// of the installation owning the repository (401 without a valid token, 404 — as GitHub
// answers — for a token of another installation or an unknown repository).
func (s *Sim) repoRoute(h func(http.ResponseWriter, *http.Request, *repo)) http.HandlerFunc {
	return s.locked(func(w http.ResponseWriter, r *http.Request) {
		inst, ok := s.requireInstallation(w, r)
		if !ok {
			return
		}
		rp, err := s.lookupRepo(r.PathValue("owner") + "/" + r.PathValue("repo"))
		if err != nil || rp.installationID != inst.id {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		h(w, r, rp)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"message":"Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers GitHub's error shape.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, obj{"message": message, "documentation_url": docsURL, "status": strconv.Itoa(status)})
}

// writeValidation answers 422 "Validation Failed" with one error entry, as GitHub does.
func writeValidation(w http.ResponseWriter, resource, field, code, message string) {
	e := obj{"resource": resource, "field": field, "code": code}
	if message != "" {
		e["message"] = message
	}
	writeJSON(w, http.StatusUnprocessableEntity, obj{
		"message":           "Validation Failed",
		"errors":            []obj{e},
		"documentation_url": docsURL,
		"status":            "422",
	})
}

// decodeBody decodes a JSON request body into v or answers 400 like GitHub.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, _ := io.ReadAll(r.Body)
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// paginate returns the page of items the request asks for (page, per_page: default 30,
// max 100) and sets GitHub's Link header.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage <= 0 {
		perPage = 30
	}
	perPage = min(perPage, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max(1, (len(items)+perPage-1)/perPage)
	link := func(p int, rel string) string {
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		u := url.URL{Scheme: "http", Host: r.Host, Path: apiPrefix + r.URL.Path, RawQuery: q.Encode()}
		return "<" + u.String() + `>; rel="` + rel + `"`
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"), link(1, "first"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*perPage, len(items))
	end := min(start+perPage, len(items))
	return items[start:end]
}

// writePage answers one page of items as a JSON array.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T) {
	page := paginate(w, r, items)
	if page == nil {
		page = []T{}
	}
	writeJSON(w, http.StatusOK, page)
}
