package bot_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/store"
)

// startBot starts a bot on SQLite with the given settings over a minimal base, and returns it.
func startBot(t *testing.T, settings map[string]string) *bot.Bot {
	t.Helper()
	env := map[string]string{
		"STAGECOACH_ADDR":             "127.0.0.1:0",
		"STAGECOACH_DATA_DIR":         t.TempDir(),
		"STAGECOACH_WEBHOOK_SECRET":   bottest.Secret,
		"STAGECOACH_SHUTDOWN_TIMEOUT": "10s",
	}
	for k, v := range settings {
		env[k] = v
	}
	b := bottest.NewBot(t, env, bot.Options{})
	bottest.Start(t, b)
	return b
}

func getFrom(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	noCLI := func(t *testing.T) string { return filepath.Join(t.TempDir(), "no-pulumi-here") }

	t.Run("a bot without a GitHub App is alive but not ready", func(t *testing.T) {
		t.Parallel()
		b := startBot(t, map[string]string{"STAGECOACH_PULUMI_COMMAND": noCLI(t)})
		if s, _ := getFrom(t, b.Addr(), "/healthz"); s != http.StatusOK {
			t.Fatalf("healthz: %d", s)
		}
		if s, body := getFrom(t, b.Addr(), "/readyz"); s != http.StatusServiceUnavailable || !strings.Contains(body, "STAGECOACH_GITHUB_APP_ID") {
			t.Fatalf("readyz: %d %q, want 503 naming the App settings", s, body)
		}
	})

	t.Run("a bot without the Pulumi engine is alive but not ready", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		b := startBot(t, map[string]string{"STAGECOACH_PULUMI_COMMAND": noCLI(t),
			"STAGECOACH_GITHUB_APP_ID": strconv.FormatInt(w.Sim.AppID(), 10), "STAGECOACH_GITHUB_PRIVATE_KEY": string(w.Sim.AppPrivateKeyPEM()),
			"STAGECOACH_GITHUB_API_URL": w.Sim.URL(), "STAGECOACH_GITHUB_APP_SLUG": "stagecoach"})
		if s, _ := getFrom(t, b.Addr(), "/healthz"); s != http.StatusOK {
			t.Fatalf("healthz: %d", s)
		}
		if s, body := getFrom(t, b.Addr(), "/readyz"); s != http.StatusServiceUnavailable || !strings.Contains(body, "Pulumi engine") {
			t.Fatalf("readyz: %d %q, want 503 naming the Pulumi engine", s, body)
		}
	})
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()

	t.Run("with an admin address the public one serves only the webhook and probes", func(t *testing.T) {
		t.Parallel()
		b := startBot(t, map[string]string{"STAGECOACH_ADMIN_ADDR": "127.0.0.1:0"})
		id, err := b.Store().SaveLog(context.Background(), store.OperationLog{Stack: "pr-1", Kind: "up", Text: "Updating (pr-1)", Succeeded: true})
		if err != nil {
			t.Fatal(err)
		}
		pub, adm := b.Addr(), b.AdminAddr()
		if adm == "" || adm == pub {
			t.Fatalf("admin address %q, public %q", adm, pub)
		}
		for _, path := range []string{"/", "/metrics", "/logs/" + id} {
			if s, _ := getFrom(t, pub, path); s != http.StatusNotFound {
				t.Errorf("public %s: %d, want 404", path, s)
			}
			if s, _ := getFrom(t, adm, path); s != http.StatusOK {
				t.Errorf("admin %s: %d, want 200", path, s)
			}
		}
		if s, _ := getFrom(t, pub, "/healthz"); s != http.StatusOK {
			t.Errorf("public /healthz: %d", s)
		}
		if s, _ := getFrom(t, pub, "/readyz"); s != http.StatusServiceUnavailable {
			t.Errorf("public /readyz without an App: %d, want 503", s)
		}
		resp, err := http.Post("http://"+pub+"/webhooks/github", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest { // no X-GitHub-Event: refused, but it is the webhook
			t.Errorf("public webhook: %d, want 400", resp.StatusCode)
		}
	})

	t.Run("public logs can be turned off", func(t *testing.T) {
		t.Parallel()
		b := startBot(t, map[string]string{"STAGECOACH_PUBLIC_LOGS": "false"})
		id, err := b.Store().SaveLog(context.Background(), store.OperationLog{Stack: "pr-1", Kind: "up", Text: "x", Succeeded: true})
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := getFrom(t, b.Addr(), "/logs/"+id); s != http.StatusNotFound {
			t.Fatalf("/logs/{id} with STAGECOACH_PUBLIC_LOGS=false: %d, want 404", s)
		}
		if s, _ := getFrom(t, b.Addr(), "/metrics"); s != http.StatusOK {
			t.Fatalf("/metrics: %d", s)
		}
		if b.AdminAddr() != "" || b.AdminHandler() != nil {
			t.Fatal("an admin server runs without STAGECOACH_ADMIN_ADDR")
		}
	})

	t.Run("public logs are served by default", func(t *testing.T) {
		t.Parallel()
		b := startBot(t, nil)
		id, err := b.Store().SaveLog(context.Background(), store.OperationLog{Stack: "pr-1", Kind: "up", Text: "x", Succeeded: true})
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := getFrom(t, b.Addr(), "/logs/"+id); s != http.StatusOK {
			t.Fatalf("/logs/{id}: %d", s)
		}
	})
}
