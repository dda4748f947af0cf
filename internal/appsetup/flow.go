package appsetup

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/githubapp"
)

// GitHubCom is github.com's web root, the default GitHub.
const GitHubCom = "https://github.com"

// DefaultName is the App's name when none is given: "stagecoach", or "stagecoach-<org>" for
// an organisation's, since names are unique across a GitHub instance. GitHub's confirmation
// page lets the person change it.
func DefaultName(org string) string {
	if org == "" {
		return "stagecoach"
	}
	return "stagecoach-" + strings.ToLower(org)
}

// CallbackPath is where GitHub sends the browser back with the code, below the local page.
const CallbackPath = "/callback"

// Options says which App to create where.
type Options struct {
	// WebURL is GitHub's web root: https://github.com (the default) or a GitHub Enterprise
	// Server's https://HOST.
	WebURL string
	// APIURL is the REST API base URL. Default: APIURLFor(WebURL).
	APIURL string
	// Org creates the App under this organisation; empty creates it under the account signed
	// in to GitHub in the browser.
	Org string
	// Name is the App's name, unique on the GitHub instance. Default DefaultName(Org).
	Name string
	// PublicURL is the bot's external base URL; its WebhookPath receives the App's webhooks.
	// Required.
	PublicURL string
	// HTTPClient makes the conversion call. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
}

// APIURLFor is the REST API base URL of the GitHub whose web root is webURL:
// https://api.github.com/ for github.com, https://HOST/api/v3/ for GitHub Enterprise Server.
func APIURLFor(webURL string) string {
	web := strings.TrimRight(webURL, "/")
	if web == GitHubCom || web == "https://www.github.com" {
		return "https://api.github.com/"
	}
	return web + "/api/v3/"
}

// WebURLFor is the web root of the GitHub whose REST API base URL is apiURL, the inverse of
// APIURLFor.
func WebURLFor(apiURL string) string {
	api := strings.TrimRight(apiURL, "/")
	if api == "https://api.github.com" {
		return GitHubCom
	}
	return strings.TrimSuffix(api, "/api/v3")
}

// Credentials are what GitHub hands out for the new App.
type Credentials struct {
	AppID         int64  `json:"app_id"`
	Slug          string `json:"slug"`
	Name          string `json:"name"`
	Owner         string `json:"owner"`
	HTMLURL       string `json:"html_url"`
	APIURL        string `json:"api_url"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	WebhookSecret string `json:"-"`
	PrivateKeyPEM string `json:"-"`
}

// InstallURL is the page that installs the App on an account and its repositories.
func (c Credentials) InstallURL() string {
	return strings.TrimRight(c.HTMLURL, "/") + "/installations/new"
}

// Convert exchanges the code GitHub redirected with for the App's credentials
// (POST /app-manifests/{code}/conversions, which needs no authentication). A code works once,
// within an hour.
func Convert(ctx context.Context, hc *http.Client, apiURL, code string) (Credentials, error) {
	gh, err := github.NewClient(hc).WithEnterpriseURLs(apiURL, apiURL)
	if err != nil {
		return Credentials{}, fmt.Errorf("the GitHub API URL %q: %w", apiURL, err)
	}
	cfg, _, err := gh.Apps.CompleteAppManifest(ctx, code)
	if err != nil {
		return Credentials{}, fmt.Errorf("converting the manifest code at %s: %w", apiURL, err)
	}
	c := Credentials{
		AppID: cfg.GetID(), Slug: cfg.GetSlug(), Name: cfg.GetName(), Owner: cfg.GetOwner().GetLogin(),
		HTMLURL: cfg.GetHTMLURL(), APIURL: apiURL, ClientID: cfg.GetClientID(), ClientSecret: cfg.GetClientSecret(),
		WebhookSecret: cfg.GetWebhookSecret(), PrivateKeyPEM: cfg.GetPEM(),
	}
	switch {
	case c.AppID == 0 || c.HTMLURL == "":
		return c, errors.New("GitHub's answer to the manifest conversion has no App id or page")
	case c.WebhookSecret == "":
		return c, errors.New("GitHub's answer to the manifest conversion has no webhook secret")
	}
	if err := githubapp.ParsePrivateKey([]byte(c.PrivateKeyPEM)); err != nil {
		return c, fmt.Errorf("the private key GitHub returned: %w", err)
	}
	return c, nil
}

// Setup is one App creation: an http.Handler for the local page and GitHub's redirect back,
// and Wait for its outcome.
type Setup struct {
	opts     Options
	local    *url.URL
	state    string
	manifest []byte

	// mu serialises callbacks, so a code is converted once.
	mu       sync.Mutex
	finished bool
	done     chan struct{}
	creds    Credentials
	err      error
}

// New prepares the creation of the App described by opts, served at localURL (the address
// the browser reaches this process at, e.g. http://127.0.0.1:3000).
func New(opts Options, localURL string) (*Setup, error) {
	if opts.WebURL == "" {
		opts.WebURL = GitHubCom
	}
	opts.WebURL = strings.TrimRight(opts.WebURL, "/")
	if opts.APIURL == "" {
		opts.APIURL = APIURLFor(opts.WebURL)
	}
	if opts.Name == "" {
		opts.Name = DefaultName(opts.Org)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if err := checkURL("the public URL", opts.PublicURL); err != nil {
		return nil, err
	}
	if err := checkURL("the GitHub URL", opts.WebURL); err != nil {
		return nil, err
	}
	local, err := url.Parse(localURL)
	if err != nil || local.Host == "" {
		return nil, fmt.Errorf("the local page's URL %q is not absolute", localURL)
	}
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	m := NewManifest(opts.Name, opts.PublicURL, strings.TrimRight(localURL, "/")+CallbackPath)
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	return &Setup{opts: opts, local: local, state: hex.EncodeToString(b), manifest: manifest, done: make(chan struct{})}, nil
}

func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute http(s) URL", what, raw)
	}
	return nil
}

// Manifest is the manifest the page posts, as JSON.
func (s *Setup) Manifest() []byte { return append([]byte(nil), s.manifest...) }

// WebURL is GitHub's web root the App is created on.
func (s *Setup) WebURL() string { return s.opts.WebURL }

// NewAppURL is the GitHub page the manifest is posted to, with the state GitHub sends back.
func (s *Setup) NewAppURL() string {
	path := "/settings/apps/new"
	if s.opts.Org != "" {
		path = "/organizations/" + url.PathEscape(s.opts.Org) + "/settings/apps/new"
	}
	return s.opts.WebURL + path + "?state=" + s.state
}

// Wait returns the new App's credentials once GitHub has sent the browser back and the code
// is converted, or why that failed, or ctx's error.
func (s *Setup) Wait(ctx context.Context) (Credentials, error) {
	select {
	case <-s.done:
		return s.creds, s.err
	case <-ctx.Done():
		return Credentials{}, fmt.Errorf("waiting for GitHub to send the browser back: %w", ctx.Err())
	}
}

// ServeHTTP serves the page that posts the manifest (GET /) and GitHub's redirect back
// (GET /callback). Requests for another host are refused, so a web page cannot reach it
// through a rebound DNS name.
func (s *Setup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case r.Host != s.local.Host:
		http.Error(w, "this page answers only at "+s.local.String(), http.StatusMisdirectedRequest)
	case r.Method != http.MethodGet:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case r.URL.Path == "/":
		s.page(w)
	case r.URL.Path == CallbackPath:
		s.callback(w, r)
	default:
		http.NotFound(w, r)
	}
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Create the GitHub App {{.Name}}</title></head>
<body>
<form method="post" action="{{.Action}}">
<input type="hidden" name="manifest" value="{{.Manifest}}">
<p>Sending the manifest of the GitHub App <b>{{.Name}}</b> to {{.Web}} … If nothing happens,
<button type="submit">create the App</button>.</p>
<p>GitHub asks you to confirm, then sends you back here.</p>
</form>
<script>document.forms[0].submit()</script>
</body></html>
`))

var resultTmpl = template.Must(template.New("result").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Link}}<p><a href="{{.Link}}">Install the App on your repositories</a></p>{{end}}
<p>Return to the terminal for the next steps.</p></body></html>
`))

func (s *Setup) page(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, map[string]string{"Name": s.opts.Name, "Action": s.NewAppURL(), "Manifest": string(s.manifest), "Web": s.opts.WebURL})
}

func (s *Setup) result(w http.ResponseWriter, status int, title, text, link string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = resultTmpl.Execute(w, map[string]string{"Title": title, "Text": text, "Link": link})
}

func (s *Setup) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(s.state)) != 1 {
		s.result(w, http.StatusBadRequest, "Not this setup",
			"This link does not come from the setup running in your terminal. Start again from "+s.local.String()+".", "")
		return
	}
	code := q.Get("code")
	if code == "" {
		s.result(w, http.StatusBadRequest, "No code", "GitHub sent you back without a code: the App was not created. Start again from "+s.local.String()+".", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		s.result(w, http.StatusGone, "Already done", "This setup has finished; the terminal says how.", "")
		return
	}
	creds, err := Convert(context.WithoutCancel(r.Context()), s.opts.HTTPClient, s.opts.APIURL, code)
	if err != nil {
		err = fmt.Errorf("%w; the App may exist now: delete it in its settings on GitHub and run `bot setup` again", err)
		s.finish(Credentials{}, err)
		s.result(w, http.StatusBadGateway, "The App's credentials could not be fetched", err.Error(), "")
		return
	}
	s.finish(creds, nil)
	s.result(w, http.StatusOK, "Created the GitHub App "+creds.Name, "bot setup has its credentials and saves them; the terminal says where.", creds.InstallURL())
}

// finish records the outcome and releases Wait. Caller holds s.mu.
func (s *Setup) finish(c Credentials, err error) {
	s.finished, s.creds, s.err = true, c, err
	close(s.done)
}
