package githubsim

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/golang-jwt/jwt/v4"
	"github.com/google/go-github/v60/github"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// rawGet performs an unauthenticated-by-default GET and decodes GitHub's error message.
func rawGet(t *testing.T, url, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := (&http.Client{Transport: transport(t)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Message
}

func signJWT(t *testing.T, key *rsa.PrivateKey, iss string, iat, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer: iss, IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestGhinstallationTokenFlow(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{AppID: 4242})
	ctx := testContext(t)
	gh := installationClient(t, sim, inst)

	repo, _, err := gh.Repositories.Get(ctx, "acme", "app")
	if err != nil {
		t.Fatalf("Repositories.Get through ghinstallation: %v", err)
	}
	if repo.GetFullName() != "acme/app" || repo.GetDefaultBranch() != "main" || !repo.GetPrivate() {
		t.Errorf("repository = %s, default %s", repo.GetFullName(), repo.GetDefaultBranch())
	}
	reqs := sim.Requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %+v, want token exchange then repository", reqs)
	}
	if r := reqs[0]; r.Method != "POST" || r.Path != "/app/installations/"+strconv.FormatInt(inst, 10)+"/access_tokens" || !r.AppJWT || r.Status != http.StatusCreated {
		t.Errorf("token request = %+v", r)
	}
	if r := reqs[1]; r.Path != "/repos/acme/app" || r.InstallationID != inst || r.Status != http.StatusOK {
		t.Errorf("repository request = %+v", r)
	}

	t.Run("app endpoints accept the app JWT", func(t *testing.T) {
		atr, err := ghinstallation.NewAppsTransport(transport(t), sim.AppID(), sim.AppPrivateKeyPEM())
		if err != nil {
			t.Fatal(err)
		}
		atr.BaseURL = sim.URL()
		app, err := github.NewClient(&http.Client{Transport: atr}).WithEnterpriseURLs(sim.URL(), sim.URL())
		if err != nil {
			t.Fatal(err)
		}
		me, _, err := app.Apps.Get(ctx, "")
		if err != nil || me.GetID() != 4242 || me.GetSlug() != "stagecoach" {
			t.Fatalf("Apps.Get = %+v, %v", me, err)
		}
		list, _, err := app.Apps.ListInstallations(ctx, nil)
		if err != nil || len(list) != 1 || list[0].GetID() != inst || list[0].GetAccount().GetLogin() != "acme" {
			t.Fatalf("ListInstallations = %+v, %v", list, err)
		}
		found, _, err := app.Apps.FindRepositoryInstallation(ctx, "acme", "app")
		if err != nil || found.GetID() != inst {
			t.Fatalf("FindRepositoryInstallation = %+v, %v", found, err)
		}
		tok, _, err := app.Apps.CreateInstallationToken(ctx, inst, nil)
		if err != nil || len(tok.GetToken()) != 40 || time.Until(tok.GetExpiresAt().Time) < 59*time.Minute {
			t.Fatalf("CreateInstallationToken = %+v, %v", tok, err)
		}
	})

	t.Run("installation token lists its repositories", func(t *testing.T) {
		repos, _, err := gh.Apps.ListRepos(ctx, nil)
		if err != nil || repos.GetTotalCount() != 1 || repos.Repositories[0].GetName() != "app" {
			t.Fatalf("ListRepos = %+v, %v", repos, err)
		}
	})
}

func TestRejectedCredentials(t *testing.T) {
	t.Parallel()
	sim, inst := newSim(t, Options{})
	repoURL := sim.URL() + "repos/acme/app"
	tokenURL := sim.URL() + "app/installations/" + strconv.FormatInt(inst, 10) + "/access_tokens"
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	appKey, err := jwt.ParseRSAPrivateKeyFromPEM(sim.AppPrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name, url, auth, method string
		wantStatus              int
		wantMessage             string
	}{
		{"repository without a token", repoURL, "", "GET", 401, "Requires authentication"},
		{"repository with an unknown token", repoURL, "token ghs_nope", "GET", 401, "Bad credentials"},
		{"repository with the app JWT instead of a token", repoURL, "Bearer " + signJWT(t, appKey, "1", now, now.Add(time.Minute)), "GET", 401, "Bad credentials"},
		{"token exchange without a JWT", tokenURL, "", "POST", 401, "A JSON web token could not be decoded"},
		{"token exchange with a JWT signed by another key", tokenURL, "Bearer " + signJWT(t, otherKey, "1", now, now.Add(time.Minute)), "POST", 401, "A JSON web token could not be decoded"},
		{"token exchange with another app id", tokenURL, "Bearer " + signJWT(t, appKey, "2", now, now.Add(time.Minute)), "POST", 401, "'Issuer' claim ('iss') must be an Integer"},
		{"token exchange with an expired JWT", tokenURL, "Bearer " + signJWT(t, appKey, "1", now.Add(-20*time.Minute), now.Add(-10*time.Minute)), "POST", 401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"},
		{"token exchange with a JWT valid too long", tokenURL, "Bearer " + signJWT(t, appKey, "1", now, now.Add(time.Hour)), "POST", 401, "'Expiration time' claim ('exp') is too far in the future"},
		{"token exchange with a valid JWT", tokenURL, "Bearer " + signJWT(t, appKey, "1", now, now.Add(5*time.Minute)), "POST", 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := (&http.Client{Transport: transport(t)}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Message string `json:"message"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tc.wantStatus || body.Message != tc.wantMessage {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body.Message, tc.wantStatus, tc.wantMessage)
			}
		})
	}

	t.Run("ghinstallation with the wrong key fails to get a token", func(t *testing.T) {
		t.Parallel()
		itr := ghinstallation.NewFromAppsTransport(ghinstallation.NewAppsTransportFromPrivateKey(transport(t), 1, otherKey), inst)
		itr.BaseURL = sim.URL()
		gh, _ := github.NewClient(&http.Client{Transport: itr}).WithEnterpriseURLs(sim.URL(), sim.URL())
		_, _, err := gh.Repositories.Get(testContext(t), "acme", "app")
		var herr *ghinstallation.HTTPError
		if !errors.As(err, &herr) || herr.Response.StatusCode != http.StatusUnauthorized {
			t.Fatalf("err = %v, want a 401 HTTPError from the token exchange", err)
		}
	})
}

func TestInstallationTokenScope(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	sim, inst := newSim(t, Options{Now: clk.Now})
	other := sim.AddInstallation("globex")
	if _, err := sim.CreateRepo("globex", "site", nil); err != nil {
		t.Fatal(err)
	}
	tok, err := sim.InstallationToken(inst)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a token of another installation gets 404 like a private repository", func(t *testing.T) {
		otherTok, _ := sim.InstallationToken(other)
		if status, msg := rawGet(t, sim.URL()+"repos/acme/app", "token "+otherTok); status != 404 || msg != "Not Found" {
			t.Errorf("got %d %q", status, msg)
		}
		if status, _ := rawGet(t, sim.URL()+"repos/globex/site", "token "+otherTok); status != 200 {
			t.Errorf("own repository: got %d", status)
		}
	})

	t.Run("requests without the /api/v3 prefix are accepted", func(t *testing.T) {
		if status, _ := rawGet(t, sim.srv.URL+"/repos/acme/app", "Bearer "+tok); status != 200 {
			t.Errorf("got %d", status)
		}
	})

	t.Run("the token expires after an hour of the injected clock", func(t *testing.T) {
		clk.Advance(59 * time.Minute)
		if status, _ := rawGet(t, sim.URL()+"repos/acme/app", "token "+tok); status != 200 {
			t.Fatalf("after 59 min: got %d", status)
		}
		clk.Advance(time.Minute)
		if status, msg := rawGet(t, sim.URL()+"repos/acme/app", "token "+tok); status != 401 || msg != "Bad credentials" {
			t.Errorf("after 60 min: got %d %q", status, msg)
		}
	})

	t.Run("unknown routes answer GitHub's JSON 404", func(t *testing.T) {
		if status, msg := rawGet(t, sim.URL()+"no/such/route", ""); status != 404 || msg != "Not Found" {
			t.Errorf("got %d %q", status, msg)
		}
	})
}
