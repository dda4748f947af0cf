// Package githubapp is the GitHub App client: go-github v60 authenticated with
// ghinstallation v2, one cached token per installation for any number of
// installations, and a transport that retries server errors and waits out rate
// limits. The private key and tokens never reach a log.
//
// The retry transport is our own rather than a maintained middleware, after weighing the two
// the module proxy offers. github.com/gofri/go-github-ratelimit is not available to this build.
// github.com/hashicorp/go-retryablehttp (v0.7.8) does not fit: its retry policy sees the answer
// and the error but not the request, so "repeat a POST on a 503 but not on a 500 (it may have
// created the comment)" needs the method smuggled through the context; it waits on its own
// timers, so a rate-limit wait can be neither computed from an injected clock (X-RateLimit-Reset
// is an absolute time) nor tested without really waiting; and its backoff reads Retry-After on
// 429 and 503 only, not GitHub's 403 rate-limit answers or X-RateLimit-Remaining/Reset. What
// ours does is small (transport.go) and each of these rules has a test in transport_test.go.
package githubapp

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v60/github"
)

// ErrNotConfigured is returned when the App id or key is missing.
var ErrNotConfigured = errors.New("the GitHub App is not configured: set STAGECOACH_GITHUB_APP_ID and STAGECOACH_GITHUB_PRIVATE_KEY_FILE")

// Config configures the App client.
type Config struct {
	// AppID is the App's id. Required.
	AppID int64
	// PrivateKey is the App's PEM private key. Required.
	PrivateKey []byte
	// APIURL is the REST API base URL. Default "https://api.github.com/".
	APIURL string
	// Transport carries the requests; set it to add retries and metrics. Default http.DefaultTransport.
	Transport http.RoundTripper
}

// App hands out API clients for the App itself and for its installations.
type App struct {
	cfg    Config
	apps   *ghinstallation.AppsTransport
	logger *slog.Logger

	mu   sync.Mutex
	inst map[int64]*github.Client // one client, and so one cached token, per installation
	slug string
}

// ParsePrivateKey checks that pem holds an RSA private key GitHub can verify JWTs with.
// Its errors never quote the key.
func ParsePrivateKey(key []byte) error {
	block, _ := pem.Decode(key)
	if block == nil {
		return errors.New("the GitHub App private key is not PEM: download the .pem file from the App's settings page")
	}
	if _, err := jwt.ParseRSAPrivateKeyFromPEM(key); err != nil {
		if _, err2 := x509.ParsePKCS8PrivateKey(block.Bytes); err2 != nil {
			return fmt.Errorf("the GitHub App private key (a %q block) is not an RSA private key", block.Type)
		}
	}
	return nil
}

// New checks the key and builds the App client.
func New(cfg Config, logger *slog.Logger) (*App, error) {
	if cfg.AppID == 0 || len(cfg.PrivateKey) == 0 {
		return nil, ErrNotConfigured
	}
	if err := ParsePrivateKey(cfg.PrivateKey); err != nil {
		return nil, err
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.github.com/"
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	apps, err := ghinstallation.NewAppsTransport(cfg.Transport, cfg.AppID, cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("creating the GitHub App transport: %w", err)
	}
	apps.BaseURL = strings.TrimSuffix(cfg.APIURL, "/")
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &App{cfg: cfg, apps: apps, logger: logger, inst: map[int64]*github.Client{}}, nil
}

// AppClient is a client authenticated as the App itself (JWT), for /app endpoints.
func (a *App) AppClient() *github.Client {
	return a.client(&http.Client{Transport: a.apps})
}

// Installation returns the client for one installation. Its token is minted on first use,
// cached and refreshed before it expires.
func (a *App) Installation(id int64) *github.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.inst[id]; ok {
		return c
	}
	tr := ghinstallation.NewFromAppsTransport(a.apps, id)
	tr.BaseURL = a.apps.BaseURL
	c := a.client(&http.Client{Transport: tr})
	a.inst[id] = c
	return c
}

// Slug returns the App's slug, asking GitHub once.
func (a *App) Slug(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.slug != "" {
		return a.slug, nil
	}
	app, _, err := a.AppClient().Apps.Get(ctx, "")
	if err != nil {
		return "", fmt.Errorf("looking up the App's slug: %w", err)
	}
	a.slug = app.GetSlug()
	return a.slug, nil
}

func (a *App) client(hc *http.Client) *github.Client {
	c, err := github.NewClient(hc).WithEnterpriseURLs(a.cfg.APIURL, a.cfg.APIURL)
	if err != nil {
		// The URL was validated by config; keep the default base rather than fail.
		a.logger.Error("setting the GitHub API URL", "error", err)
		return github.NewClient(hc)
	}
	// WithEnterpriseURLs appends "api/v3/" to hosts that are not api.github.com-like when missing;
	// point both URLs at exactly what was configured.
	c.BaseURL, _ = c.BaseURL.Parse(a.cfg.APIURL)
	c.UploadURL, _ = c.UploadURL.Parse(a.cfg.APIURL)
	return c
}

// RetryAfter reports how long to wait before retrying a call that failed on a rate limit
// too long to wait out in place, so a job can snooze until then.
func RetryAfter(err error, now time.Time) (time.Duration, bool) {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return max(rl.Rate.Reset.Sub(now)+time.Second, time.Second), true
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if abuse.RetryAfter != nil {
			return *abuse.RetryAfter, true
		}
		return time.Minute, true
	}
	return 0, false
}
