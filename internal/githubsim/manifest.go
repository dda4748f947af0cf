package githubsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// A manifest code is good for an hour, as on GitHub.
const manifestCodeLifetime = time.Hour

// manifestState is the App manifest flow's state: codes handed out and not yet converted,
// and the manifests converted.
type manifestState struct {
	pending map[string]pendingManifest
	created []CreatedApp
}

type pendingManifest struct {
	app     CreatedApp
	expires time.Time
}

// CreatedApp is an App created through the manifest flow.
type CreatedApp struct {
	// Org is the organisation it was created under, "" for the signed-in user.
	Org string
	// Manifest is the manifest as posted.
	Manifest json.RawMessage
	// ClientID and ClientSecret are the OAuth credentials handed out.
	ClientID, ClientSecret string
}

// appManifest is what the simulator reads of a posted manifest.
type appManifest struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	RedirectURL    string `json:"redirect_url"`
	HookAttributes *struct {
		URL    string `json:"url"`
		Active *bool  `json:"active"`
	} `json:"hook_attributes"`
	DefaultPermissions map[string]string `json:"default_permissions"`
	DefaultEvents      []string          `json:"default_events"`
}

// manifestPermissions are GitHub's App permissions and the levels each may have.
var manifestPermissions = map[string][]string{
	"actions": {"read", "write"}, "administration": {"read", "write"}, "checks": {"read", "write"},
	"contents": {"read", "write"}, "deployments": {"read", "write"}, "environments": {"read", "write"},
	"issues": {"read", "write"}, "metadata": {"read", "write"}, "packages": {"read", "write"},
	"pages": {"read", "write"}, "pull_requests": {"read", "write"}, "repository_hooks": {"read", "write"},
	"repository_projects": {"read", "write", "admin"}, "secrets": {"read", "write"},
	"statuses": {"read", "write"}, "workflows": {"write"}, "members": {"read", "write"},
	"organization_administration": {"read", "write"}, "organization_hooks": {"read", "write"},
	"email_addresses": {"read", "write"},
}

// manifestEventPermission is, for the events the simulator knows, the permission an App needs
// (at least read) to subscribe to it.
var manifestEventPermission = map[string]string{
	"pull_request": "pull_requests", "pull_request_review": "pull_requests", "issue_comment": "issues",
	"issues": "issues", "push": "contents", "create": "contents", "delete": "contents", "release": "contents",
	"deployment": "deployments", "deployment_status": "deployments", "check_run": "checks",
	"check_suite": "checks", "status": "statuses", "membership": "members", "team": "members",
	"workflow_run": "actions", "label": "metadata", "repository": "metadata",
}

// manifestRoutes serves the manifest flow: the web pages a browser posts a manifest to (GitHub
// asks the person to confirm; the simulator creates the App at once) and the API conversion.
func (s *Sim) manifestRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /settings/apps/new", s.locked(s.newAppFromManifest))
	mux.HandleFunc("POST /organizations/{org}/settings/apps/new", s.locked(s.newAppFromManifest))
	mux.HandleFunc("POST /app-manifests/{code}/conversions", s.locked(s.convertManifest))
}

// newAppFromManifest answers the browser's form post (field "manifest"): a valid manifest
// redirects to its redirect_url with a one-hour, single-use code and the state of the request.
// Caller holds s.mu.
func (s *Sim) newAppFromManifest(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing the form")
		return
	}
	raw := r.PostForm.Get("manifest")
	var m appManifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "Invalid GitHub App configuration: the manifest is not JSON")
		return
	}
	if msg := checkManifest(m); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, "Invalid GitHub App configuration: "+msg)
		return
	}
	redirect, _ := url.Parse(m.RedirectURL)
	code := randomHex(20)
	if s.manifests == nil {
		s.manifests = &manifestState{pending: map[string]pendingManifest{}}
	}
	s.manifests.pending[code] = pendingManifest{
		app:     CreatedApp{Org: r.PathValue("org"), Manifest: json.RawMessage(raw)},
		expires: s.now().Add(manifestCodeLifetime),
	}
	q := redirect.Query()
	q.Set("code", code)
	if st := r.URL.Query().Get("state"); st != "" {
		q.Set("state", st)
	}
	redirect.RawQuery = q.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// checkManifest returns what GitHub would refuse in m, "" when nothing.
func checkManifest(m appManifest) string {
	if u, err := url.Parse(m.URL); m.URL == "" || err != nil || u.Host == "" {
		return "url must be an absolute URL"
	}
	if u, err := url.Parse(m.RedirectURL); err != nil || u.Host == "" {
		return "redirect_url must be an absolute URL (the simulator needs one)"
	}
	if m.HookAttributes != nil {
		if u, err := url.Parse(m.HookAttributes.URL); err != nil || u.Host == "" {
			return "hook_attributes.url must be an absolute URL"
		}
	}
	for name, level := range m.DefaultPermissions {
		if !slices.Contains(manifestPermissions[name], level) {
			return fmt.Sprintf("permission %q cannot be %q", name, level)
		}
	}
	for _, e := range m.DefaultEvents {
		need, known := manifestEventPermission[e]
		if !known {
			return fmt.Sprintf("Default events unsupported: %s", e)
		}
		if m.DefaultPermissions[need] == "" {
			return fmt.Sprintf("Default events unsupported: %s needs the %s permission", e, need)
		}
	}
	return ""
}

// convertManifest answers POST /app-manifests/{code}/conversions as GitHub does, with the
// credentials of the App the simulator hosts (Options.AppID, its key, Options.WebhookSecret)
// under the manifest's name. A code converts once. Later webhooks go to the manifest's
// webhook URL. Caller holds s.mu.
func (s *Sim) convertManifest(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	var p pendingManifest
	ok := false
	if s.manifests != nil {
		p, ok = s.manifests.pending[code]
		delete(s.manifests.pending, code)
	}
	if !ok || !s.now().Before(p.expires) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var m appManifest
	_ = json.Unmarshal(p.app.Manifest, &m) // checked when posted
	p.app.ClientID = "Iv1." + randomHex(8)
	p.app.ClientSecret = randomHex(20)
	s.manifests.created = append(s.manifests.created, p.app)
	if m.HookAttributes != nil && (m.HookAttributes.Active == nil || *m.HookAttributes.Active) {
		s.webhookURL = m.HookAttributes.URL
	}
	owner := s.accountFor(s.opts.DefaultUser)
	if p.app.Org != "" {
		owner = s.accountFor(p.app.Org)
		owner.kind = kindOrg
	}
	name := m.Name
	if name == "" {
		name = s.opts.AppSlug
	}
	now := ts(s.now())
	s.notify()
	writeJSON(w, http.StatusCreated, obj{
		"id": s.opts.AppID, "slug": s.opts.AppSlug, "node_id": nodeID("A", s.opts.AppID), "owner": s.userObj(owner),
		"name": name, "description": "", "external_url": m.URL, "html_url": s.web() + "/apps/" + s.opts.AppSlug,
		"created_at": now, "updated_at": now, "permissions": m.DefaultPermissions, "events": m.DefaultEvents,
		"client_id": p.app.ClientID, "client_secret": p.app.ClientSecret,
		"webhook_secret": s.opts.WebhookSecret, "pem": string(s.keyPEM),
	})
}

// CreatedApps returns the Apps created through the manifest flow, oldest first.
func (s *Sim) CreatedApps() []CreatedApp {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.manifests == nil {
		return nil
	}
	return slices.Clone(s.manifests.created)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// WebURL is the web root (where html_url links and the manifest flow's pages are), the
// GitHub Enterprise Server style https://HOST of URL's https://HOST/api/v3/.
func (s *Sim) WebURL() string { return s.web() }
