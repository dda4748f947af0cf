package appsetup_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stagecoach/stagecoach/internal/appsetup"
)

var creds = appsetup.Credentials{AppID: 7, Slug: "stagecoach", Name: "stagecoach", Owner: "acme",
	HTMLURL: "https://github.com/apps/stagecoach", APIURL: "https://api.github.com/", ClientID: "Iv1.abc",
	ClientSecret: "client-secret", WebhookSecret: "webhook-secret", PrivateKeyPEM: "-----BEGIN RSA PRIVATE KEY-----\n…\n"}

func TestFiles(t *testing.T) {
	t.Parallel()

	t.Run("the credentials are written whole, readable by their owner only", func(t *testing.T) {
		t.Parallel()
		f, err := appsetup.FilesIn(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Write(creds, false); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]string{f.PrivateKey: creds.PrivateKeyPEM, f.WebhookSecret: creds.WebhookSecret} {
			b, err := os.ReadFile(path)
			if err != nil || string(b) != want {
				t.Errorf("%s holds %q (%v), want %q", path, b, err, want)
			}
		}
		var app map[string]any
		b, _ := os.ReadFile(f.App)
		if err := json.Unmarshal(b, &app); err != nil {
			t.Fatal(err)
		}
		if app["app_id"] != float64(7) || app["client_secret"] != "client-secret" || app["install_url"] != "https://github.com/apps/stagecoach/installations/new" ||
			app["pem"] != nil || app["webhook_secret"] != nil {
			t.Errorf("app.json: %s", b)
		}
		entries, _ := os.ReadDir(f.Dir)
		if len(entries) != 3 {
			t.Errorf("%s holds %d entries, want the 3 files and no temporary one", f.Dir, len(entries))
		}
		for _, p := range []string{f.App, f.PrivateKey, f.WebhookSecret} {
			if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, %v; want 0600", p, st.Mode().Perm(), err)
			}
		}
		if st, err := os.Stat(f.Dir); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, %v; want 0700", f.Dir, st.Mode().Perm(), err)
		}
	})

	t.Run("existing credentials are kept unless forced", func(t *testing.T) {
		t.Parallel()
		f, _ := appsetup.FilesIn(t.TempDir())
		if err := f.Write(creds, false); err != nil {
			t.Fatal(err)
		}
		next := creds
		next.WebhookSecret = "another"
		if err := f.Write(next, false); !errors.Is(err, appsetup.ErrExists) {
			t.Fatalf("a second write: err = %v, want ErrExists", err)
		}
		if b, _ := os.ReadFile(f.WebhookSecret); string(b) != "webhook-secret" {
			t.Errorf("the refused write changed the secret to %q", b)
		}
		if err := f.Write(next, true); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(f.WebhookSecret); string(b) != "another" {
			t.Errorf("the forced write left the secret %q", b)
		}
	})

	t.Run("the settings name the files by absolute path and the API only when it is not github.com's", func(t *testing.T) {
		t.Parallel()
		f, _ := appsetup.FilesIn("relative")
		if !filepath.IsAbs(f.PrivateKey) {
			t.Errorf("PrivateKey %s is not absolute", f.PrivateKey)
		}
		got := f.Settings(creds, "https://bot.example.com/")
		want := []string{"STAGECOACH_GITHUB_APP_ID=7", "STAGECOACH_GITHUB_APP_SLUG=stagecoach", "STAGECOACH_PUBLIC_URL=https://bot.example.com",
			"STAGECOACH_GITHUB_PRIVATE_KEY_FILE=" + f.PrivateKey, "STAGECOACH_WEBHOOK_SECRET_FILE=" + f.WebhookSecret}
		if !slices.Equal(got, want) {
			t.Errorf("Settings =\n%q\nwant\n%q", got, want)
		}
		ghes := creds
		ghes.APIURL = "https://github.example.com/api/v3/"
		p := appsetup.Printed(ghes, "https://bot.example.com")
		s := p.Settings
		if s["STAGECOACH_GITHUB_API_URL"] != ghes.APIURL || s["STAGECOACH_WEBHOOK_SECRET"] != "webhook-secret" || s["STAGECOACH_GITHUB_PRIVATE_KEY"] != creds.PrivateKeyPEM ||
			p.OAuth.ClientSecret != "client-secret" || p.InstallURL != creds.InstallURL() {
			t.Errorf("Printed = %+v", p)
		}
	})
}
