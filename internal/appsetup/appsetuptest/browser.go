// Package appsetuptest plays the person in the browser for tests of the App manifest flow, and
// starts the simulated GitHub they create the App on.
package appsetuptest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/githubsim"
)

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hidden     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// Browse does what a browser does with the setup page at pageURL: it loads the page, submits
// its form (as the page's script does) and follows the redirects, to GitHub and back to the
// page's callback. It returns the last page's status and body.
func Browse(ctx context.Context, pageURL string) (int, string, error) {
	c := &http.Client{}
	status, page, err := get(ctx, c, pageURL)
	if err != nil {
		return 0, "", err
	}
	if status != http.StatusOK {
		return status, page, fmt.Errorf("loading %s: HTTP %d", pageURL, status)
	}
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		return 0, page, errors.New("the setup page has no form that posts")
	}
	form := url.Values{}
	for _, f := range hidden.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, html.UnescapeString(m[1]), strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(c, req)
}

func get(ctx context.Context, c *http.Client, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	return send(c, req)
}

func send(c *http.Client, req *http.Request) (int, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// WebhookSecret is the webhook secret the App of NewSim hands out.
const WebhookSecret = "whsec-from-github"

// NewSim starts a simulated GitHub whose manifest conversion hands out App 31337,
// "stagecoach-acme", with WebhookSecret; it is closed when t ends.
func NewSim(t testing.TB) *githubsim.Sim {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: WebhookSecret, AppID: 31337, AppSlug: "stagecoach-acme"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}
