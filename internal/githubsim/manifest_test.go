package githubsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// postManifest posts manifest as GitHub's new-App form does and returns the answer, without
// following the redirect.
func postManifest(t *testing.T, sim *Sim, path, manifest string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(sim.WebURL()+path, url.Values{"manifest": {manifest}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func convert(t *testing.T, sim *Sim, code string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(sim.URL()+"app-manifests/"+code+"/conversions", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

const goodManifest = `{"name":"bot","url":"https://example.com","redirect_url":"http://127.0.0.1:9/callback?x=1",
"hook_attributes":{"url":"http://127.0.0.1:9/webhooks/github"},
"default_permissions":{"pull_requests":"write","issues":"read"},"default_events":["pull_request","issue_comment"]}`

func TestManifestFlow(t *testing.T) {
	t.Parallel()

	t.Run("a posted manifest redirects with a code and the state, and the code converts once", func(t *testing.T) {
		t.Parallel()
		now := time.Now()
		sim, _ := newSim(t, Options{WebhookSecret: testSecret, Now: func() time.Time { return now }})
		resp := postManifest(t, sim, "/organizations/acme/settings/apps/new?state=s1", goodManifest)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("state") != "s1" || loc.Query().Get("x") != "1" ||
			!strings.HasPrefix(loc.String(), "http://127.0.0.1:9/callback?") {
			t.Fatalf("HTTP %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		status, body := convert(t, sim, loc.Query().Get("code"))
		if status != http.StatusCreated || body["id"] != float64(sim.AppID()) || body["pem"] != string(sim.AppPrivateKeyPEM()) ||
			body["webhook_secret"] != testSecret || body["name"] != "bot" || body["owner"].(map[string]any)["login"] != "acme" {
			t.Fatalf("HTTP %d: %v", status, body)
		}
		if apps := sim.CreatedApps(); len(apps) != 1 || apps[0].Org != "acme" || body["client_id"] != apps[0].ClientID {
			t.Errorf("CreatedApps = %+v", apps)
		}
		if status, _ := convert(t, sim, loc.Query().Get("code")); status != http.StatusNotFound {
			t.Errorf("the second conversion: HTTP %d, want 404", status)
		}
		sim.mu.Lock()
		hook := sim.webhookURL
		sim.mu.Unlock()
		if hook != "http://127.0.0.1:9/webhooks/github" {
			t.Errorf("webhooks go to %q, not the manifest's URL", hook)
		}
	})

	t.Run("a code is good for an hour", func(t *testing.T) {
		t.Parallel()
		now := time.Now()
		var ahead atomic.Int64
		sim, _ := newSim(t, Options{Now: func() time.Time { return now.Add(time.Duration(ahead.Load())) }})
		loc, _ := url.Parse(postManifest(t, sim, "/settings/apps/new", goodManifest).Header.Get("Location"))
		ahead.Store(int64(time.Hour))
		if status, _ := convert(t, sim, loc.Query().Get("code")); status != http.StatusNotFound {
			t.Errorf("HTTP %d, want 404", status)
		}
	})

	t.Run("GitHub's refusals", func(t *testing.T) {
		t.Parallel()
		sim, _ := newSim(t, Options{})
		for name, m := range map[string]string{
			"not JSON":                      `{`,
			"no url":                        `{"redirect_url":"http://127.0.0.1:9/"}`,
			"an unknown permission":         `{"url":"https://e.com","redirect_url":"http://127.0.0.1:9/","default_permissions":{"everything":"write"}}`,
			"a level the permission lacks":  `{"url":"https://e.com","redirect_url":"http://127.0.0.1:9/","default_permissions":{"workflows":"read"}}`,
			"an event without a permission": `{"url":"https://e.com","redirect_url":"http://127.0.0.1:9/","default_events":["push"]}`,
		} {
			if resp := postManifest(t, sim, "/settings/apps/new", m); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: HTTP %d, want 422", name, resp.StatusCode)
			}
		}
	})
}
