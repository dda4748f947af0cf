package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stagecoach/stagecoach/internal/appsetup"
	"github.com/stagecoach/stagecoach/internal/appsetup/appsetuptest"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/githubapp"
)

var localPage = regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+) in a browser`)

// pageWatcher is the terminal setup writes to: when the local page's address appears it opens
// the page in a browser (appsetuptest.Browse), once for all the watchers sharing once.
type pageWatcher struct {
	t       *testing.T
	once    *sync.Once
	started *bool
	browsed chan error
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (w *pageWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := localPage.FindStringSubmatch(w.buf.String()); m != nil {
		w.once.Do(func() {
			*w.started = true
			go func() { _, _, err := appsetuptest.Browse(w.t.Context(), m[1]); w.browsed <- err }()
		})
	}
	return len(p), nil
}

func (w *pageWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// setupRun runs `bot setup args…` with env, playing the browser on the page it prints. It
// returns what setup printed on stdout and stderr and its error.
func setupRun(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	once, started, browsed := new(sync.Once), new(bool), make(chan error, 1)
	out := &pageWatcher{t: t, once: once, started: started, browsed: browsed}
	errOut := &pageWatcher{t: t, once: once, started: started, browsed: browsed}
	// setup writes from this goroutine only, so started is read after it is set.
	err = setupCommand(t.Context(), args, func(k string) string { return env[k] }, out, errOut)
	if *started {
		if berr := <-browsed; berr != nil {
			t.Errorf("the browser: %v", berr)
		}
	}
	return out.String(), errOut.String(), err
}

func TestSetup(t *testing.T) {
	t.Parallel()

	t.Run("creates the App on the simulated GitHub and a bot configured as it says authenticates", func(t *testing.T) {
		t.Parallel()
		sim := appsetuptest.NewSim(t)
		inst := sim.AddInstallation("acme")
		dir := t.TempDir()
		out, _, err := setupRun(t, map[string]string{"STAGECOACH_PUBLIC_URL": "https://bot.example.com"},
			"--github-url", sim.WebURL(), "--org", "acme", "--name", "stagecoach-acme", "--data-dir", dir, "--listen", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("setup: %v\n%s", err, out)
		}
		f, _ := appsetup.FilesIn(dir)
		for _, p := range []string{f.App, f.PrivateKey, f.WebhookSecret} {
			if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v; want 0600", p, err, st.Mode().Perm())
			}
		}
		if b, _ := os.ReadFile(f.PrivateKey); !bytes.Equal(b, sim.AppPrivateKeyPEM()) {
			t.Error("the private key written is not the App's")
		}
		var app appsetup.Credentials
		if b, err := os.ReadFile(f.App); err != nil || json.Unmarshal(b, &app) != nil {
			t.Fatalf("app.json: %v", err)
		}
		if created := sim.CreatedApps(); len(created) != 1 || app.ClientID != created[0].ClientID || app.ClientSecret != created[0].ClientSecret || app.AppID != 31337 {
			t.Errorf("app.json %+v; the simulator created %+v", app, created)
		}
		if !strings.Contains(out, app.InstallURL()) {
			t.Errorf("setup does not print the install page %s:\n%s", app.InstallURL(), out)
		}

		// The settings it prints are all a bot needs to reach GitHub as the App.
		env := map[string]string{}
		for _, m := range regexp.MustCompile(`(?m)^  (STAGECOACH_[A-Z_]+)=(.*)$`).FindAllStringSubmatch(out, -1) {
			env[m[1]] = m[2]
		}
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("the printed settings %v: %v", env, err)
		}
		if cfg.GitHub.AppID != sim.AppID() || cfg.HTTP.WebhookSecret != appsetuptest.WebhookSecret || cfg.GitHub.APIURL != sim.URL() ||
			cfg.GitHub.AppSlug != "stagecoach-acme" || cfg.HTTP.PublicURL != "https://bot.example.com" {
			t.Errorf("the printed settings give %+v %+v", cfg.GitHub, cfg.HTTP)
		}
		if detail, err := apiCheck(cfg.GitHub).Run(t.Context()); err != nil || !strings.Contains(detail, `"stagecoach-acme"`) {
			t.Errorf("doctor's GitHub API check: %q, %v", detail, err)
		}
		app2, err := githubapp.New(githubapp.Config{AppID: cfg.GitHub.AppID, PrivateKey: cfg.GitHub.PrivateKey, APIURL: cfg.GitHub.APIURL}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := app2.Installation(inst).Apps.ListRepos(t.Context(), nil); err != nil {
			t.Errorf("an installation token from the written key: %v", err)
		}

		// A second setup keeps these credentials and creates no App.
		out, _, err = setupRun(t, map[string]string{"STAGECOACH_PUBLIC_URL": "https://bot.example.com", "STAGECOACH_DATA_DIR": dir},
			"--github-url", sim.WebURL())
		if !errors.Is(err, appsetup.ErrExists) || !strings.Contains(err.Error(), "--force") || len(sim.CreatedApps()) != 1 {
			t.Errorf("a second setup: %v\n%s", err, out)
		}
	})

	t.Run("--print prints the settings as JSON and writes nothing", func(t *testing.T) {
		t.Parallel()
		sim := appsetuptest.NewSim(t)
		dir := t.TempDir()
		out, progress, err := setupRun(t, map[string]string{"STAGECOACH_GITHUB_API_URL": sim.URL(), "STAGECOACH_DATA_DIR": dir},
			"--public-url", "https://bot.example.com", "--print")
		if err != nil {
			t.Fatalf("setup: %v\n%s", err, progress)
		}
		var printed appsetup.Secrets
		if err := json.Unmarshal([]byte(out), &printed); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, out)
		}
		got := printed.Settings
		if created := sim.CreatedApps(); len(created) != 1 || printed.OAuth.ClientSecret != created[0].ClientSecret || printed.OAuth.ClientID == "" {
			t.Errorf("printed the OAuth client %+v; the simulator created %+v", printed.OAuth, created)
		}
		if got["STAGECOACH_GITHUB_APP_ID"] != strconv.FormatInt(sim.AppID(), 10) || got["STAGECOACH_GITHUB_PRIVATE_KEY"] != string(sim.AppPrivateKeyPEM()) ||
			got["STAGECOACH_WEBHOOK_SECRET"] != appsetuptest.WebhookSecret || got["STAGECOACH_GITHUB_API_URL"] != sim.URL() {
			t.Errorf("printed %v", got)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("--print wrote %v", entries)
		}
	})

	t.Run("a data directory it cannot write to stops it before the App is created", func(t *testing.T) {
		t.Parallel()
		sim := appsetuptest.NewSim(t)
		file := filepath.Join(t.TempDir(), "a-file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := setupRun(t, map[string]string{"STAGECOACH_DATA_DIR": file}, "--public-url", "https://bot.example.com", "--github-url", sim.WebURL())
		if err == nil || !strings.Contains(err.Error(), "making "+file) || len(sim.CreatedApps()) != 0 {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("without a public URL it stops before anything, as a usage error", func(t *testing.T) {
		t.Parallel()
		_, _, err := setupRun(t, map[string]string{"STAGECOACH_DATA_DIR": t.TempDir()})
		if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--public-url") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestREADMEListsTheAppsPermissionsAndEvents(t *testing.T) {
	t.Parallel()
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if want := appsetup.Markdown(); !strings.Contains(norm(readme(t)), norm(want)) {
		t.Errorf("README's \"Installing the GitHub App\" should list, as appsetup declares them (line breaks aside):\n%s", want)
	}
}

func TestLocalURL(t *testing.T) {
	t.Parallel()
	addr := &net.TCPAddr{IP: net.IPv4zero, Port: 3000}
	for listen, want := range map[string]string{
		"127.0.0.1:0":    "http://127.0.0.1:3000",
		":3000":          "http://localhost:3000",
		"0.0.0.0:3000":   "http://localhost:3000",
		"[::]:3000":      "http://localhost:3000",
		"localhost:3000": "http://localhost:3000",
		"[::1]:0":        "http://[::1]:3000",
	} {
		if got := localURL(listen, addr); got != want {
			t.Errorf("localURL(%q) = %s, want %s", listen, got, want)
		}
	}
}
