package appsetup_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/appsetup"
	"github.com/stagecoach/stagecoach/internal/appsetup/appsetuptest"
	"github.com/stagecoach/stagecoach/internal/githubsim"
)

// serve starts the setup page for opts on a local test server and returns it and its URL.
func serve(t *testing.T, opts appsetup.Options) (*appsetup.Setup, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	local := "http://" + srv.Listener.Addr().String()
	s, err := appsetup.New(opts, local)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = s
	srv.Start()
	t.Cleanup(srv.Close)
	return s, local
}

func TestSetup(t *testing.T) {
	t.Parallel()

	t.Run("a browser following the page creates the App under the organisation and Wait returns its credentials", func(t *testing.T) {
		t.Parallel()
		sim := appsetuptest.NewSim(t)
		s, local := serve(t, appsetup.Options{WebURL: sim.WebURL(), Org: "acme", Name: "stagecoach-acme", PublicURL: "https://bot.example.com/"})
		status, body, err := appsetuptest.Browse(t.Context(), local)
		if err != nil || status != http.StatusOK {
			t.Fatalf("browsing: HTTP %d, %v\n%s", status, err, body)
		}
		c, err := s.Wait(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if c.AppID != 31337 || c.Slug != "stagecoach-acme" || c.Name != "stagecoach-acme" || c.Owner != "acme" ||
			c.WebhookSecret != appsetuptest.WebhookSecret || c.PrivateKeyPEM != string(sim.AppPrivateKeyPEM()) || c.APIURL != sim.URL() {
			t.Errorf("credentials %+v", c)
		}
		created := sim.CreatedApps()
		if len(created) != 1 || created[0].Org != "acme" || c.ClientID != created[0].ClientID || c.ClientSecret != created[0].ClientSecret || c.ClientID == "" {
			t.Fatalf("the simulator created %+v; setup got client %q", created, c.ClientID)
		}
		if !strings.Contains(body, c.InstallURL()) {
			t.Errorf("the last page does not link the install page %s:\n%s", c.InstallURL(), body)
		}
		var m appsetup.Manifest
		if err := json.Unmarshal(created[0].Manifest, &m); err != nil {
			t.Fatal(err)
		}
		if m.HookAttributes.URL != "https://bot.example.com/webhooks/github" || !m.HookAttributes.Active || m.Public ||
			!strings.HasPrefix(m.RedirectURL, local+"/callback") {
			t.Errorf("the posted manifest: %+v", m)
		}
		if !slices.Equal(created[0].Manifest, s.Manifest()) {
			t.Errorf("GitHub got the manifest\n%s\nnot\n%s", created[0].Manifest, s.Manifest())
		}
	})

	t.Run("a redirect with another state is refused and the setup goes on", func(t *testing.T) {
		t.Parallel()
		sim := appsetuptest.NewSim(t)
		s, local := serve(t, appsetup.Options{WebURL: sim.WebURL(), PublicURL: "https://bot.example.com"})
		resp, err := http.Get(local + appsetup.CallbackPath + "?code=forged&state=" + strings.Repeat("0", 40))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a forged state: HTTP %d, want 400", resp.StatusCode)
		}
		if status, body, err := appsetuptest.Browse(t.Context(), local); err != nil || status != http.StatusOK {
			t.Fatalf("the real flow after it: HTTP %d, %v\n%s", status, err, body)
		}
		if _, err := s.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a request for another host name is refused", func(t *testing.T) {
		t.Parallel()
		_, local := serve(t, appsetup.Options{WebURL: "https://github.example.com", PublicURL: "https://bot.example.com"})
		req, _ := http.NewRequest(http.MethodGet, local+"/", nil)
		req.Host = "attacker.example:80"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("HTTP %d, want 421", resp.StatusCode)
		}
	})

	t.Run("the page posts to the organisation's new-App page of a GitHub Enterprise Server", func(t *testing.T) {
		t.Parallel()
		s, _ := serve(t, appsetup.Options{WebURL: "https://github.example.com/", Org: "acme", PublicURL: "https://bot.example.com"})
		if got := s.NewAppURL(); !strings.HasPrefix(got, "https://github.example.com/organizations/acme/settings/apps/new?state=") {
			t.Errorf("NewAppURL = %s", got)
		}
	})

	t.Run("without a public URL there is no webhook URL and no setup", func(t *testing.T) {
		t.Parallel()
		if _, err := appsetup.New(appsetup.Options{}, "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "public URL") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("a failed conversion ends the setup and says the App may exist", func(t *testing.T) {
		t.Parallel()
		sim := appsetuptest.NewSim(t)
		sim.InjectFault(githubsim.Fault{Method: http.MethodPost, PathPrefix: "/app-manifests/", Status: http.StatusInternalServerError})
		s, local := serve(t, appsetup.Options{WebURL: sim.WebURL(), PublicURL: "https://bot.example.com"})
		if status, _, _ := appsetuptest.Browse(t.Context(), local); status != http.StatusBadGateway {
			t.Errorf("HTTP %d, want 502", status)
		}
		if _, err := s.Wait(t.Context()); err == nil || !strings.Contains(err.Error(), "may exist") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("Wait ends with its context", func(t *testing.T) {
		t.Parallel()
		s, _ := serve(t, appsetup.Options{PublicURL: "https://bot.example.com"})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := s.Wait(ctx); err == nil {
			t.Error("Wait returned no error")
		}
	})
}

func TestConvert(t *testing.T) {
	t.Parallel()
	sim := appsetuptest.NewSim(t)
	_, local := serve(t, appsetup.Options{WebURL: sim.WebURL(), PublicURL: "https://bot.example.com"})
	if _, _, err := appsetuptest.Browse(t.Context(), local); err != nil {
		t.Fatal(err)
	}
	var code string
	for _, r := range sim.Requests() {
		if strings.HasPrefix(r.Path, "/app-manifests/") {
			code = strings.TrimSuffix(strings.TrimPrefix(r.Path, "/app-manifests/"), "/conversions")
		}
	}
	if code == "" {
		t.Fatal("the setup converted no code")
	}
	if _, err := appsetup.Convert(t.Context(), http.DefaultClient, sim.URL(), code); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("converting a code a second time: err = %v, want GitHub's 404", err)
	}
}

func TestAPIURLFor(t *testing.T) {
	t.Parallel()
	for web, api := range map[string]string{
		"https://github.com":          "https://api.github.com/",
		"https://github.com/":         "https://api.github.com/",
		"https://github.example.com":  "https://github.example.com/api/v3/",
		"https://github.example.com/": "https://github.example.com/api/v3/",
	} {
		if got := appsetup.APIURLFor(web); got != api {
			t.Errorf("APIURLFor(%s) = %s, want %s", web, got, api)
		}
		if got := appsetup.WebURLFor(api); got != strings.TrimSuffix(web, "/") {
			t.Errorf("WebURLFor(%s) = %s, want %s", api, got, strings.TrimSuffix(web, "/"))
		}
	}
}
