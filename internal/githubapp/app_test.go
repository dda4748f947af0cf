package githubapp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/githubsim"
)

func TestApp(t *testing.T) {
	t.Parallel()
	sim, err := githubsim.New(githubsim.Options{AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	orgs := map[string]int64{"acme": sim.AddInstallation("acme"), "globex": sim.AddInstallation("globex")}
	for org := range orgs {
		if _, err := sim.CreateRepo(org, "app", map[string]string{"README.md": org}); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	app, err := githubapp.New(githubapp.Config{AppID: sim.AppID(), PrivateKey: sim.AppPrivateKeyPEM(), APIURL: sim.URL(),
		Transport: &githubapp.RetryTransport{Logger: logger, Sleep: func(context.Context, time.Duration) error { return nil }}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("each installation gets its own token, minted once and reused", func(t *testing.T) {
		for range 3 {
			for org, id := range orgs {
				r, _, err := app.Installation(id).Repositories.Get(ctx, org, "app")
				if err != nil {
					t.Fatalf("%s: %v", org, err)
				}
				if r.GetFullName() != org+"/app" {
					t.Fatalf("got %s", r.GetFullName())
				}
			}
		}
		mints := map[string]int{}
		for _, r := range sim.Requests() {
			if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/access_tokens") {
				mints[r.Path]++
			}
		}
		if len(mints) != 2 {
			t.Fatalf("tokens minted for %d installations, want 2: %v", len(mints), mints)
		}
		for p, n := range mints {
			if n != 1 {
				t.Errorf("%s minted %d times, want once", p, n)
			}
		}
	})

	t.Run("an installation cannot read another's repository", func(t *testing.T) {
		if _, _, err := app.Installation(orgs["acme"]).Repositories.Get(ctx, "globex", "app"); err == nil {
			t.Fatal("want an error")
		}
	})

	t.Run("the slug is looked up as the App", func(t *testing.T) {
		slug, err := app.Slug(ctx)
		if err != nil || slug != "stagecoach" {
			t.Fatalf("slug = %q, %v", slug, err)
		}
	})

	t.Run("retries are logged without the key or a token", func(t *testing.T) {
		sim.InjectFault(githubsim.Fault{Method: http.MethodGet, PathPrefix: "/repos/acme/app", Status: 502, Times: 1})
		if _, _, err := app.Installation(orgs["acme"]).Repositories.Get(ctx, "acme", "app"); err != nil {
			t.Fatal(err)
		}
		out := logs.String()
		if !strings.Contains(out, "retrying GitHub API call") {
			t.Fatalf("no retry logged:\n%s", out)
		}
		for org, id := range orgs {
			tok, err := sim.InstallationToken(id)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, tok) {
				t.Errorf("the token of %s is in the logs", org)
			}
		}
		if strings.Contains(out, "PRIVATE KEY") {
			t.Error("the private key is in the logs")
		}
	})
}
