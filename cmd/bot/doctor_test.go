package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func TestDoctor(t *testing.T) {
	t.Parallel()
	sim, err := githubsim.New(githubsim.Options{AppSlug: "stagecoach-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	env := func(t *testing.T) map[string]string {
		dir := t.TempDir()
		return map[string]string{
			"STAGECOACH_DATA_DIR":           dir,
			"STAGECOACH_WEBHOOK_SECRET":     "s",
			"PULUMI_CONFIG_PASSPHRASE":      "p",
			"STAGECOACH_GITHUB_APP_ID":      strconv.FormatInt(sim.AppID(), 10),
			"STAGECOACH_GITHUB_PRIVATE_KEY": string(sim.AppPrivateKeyPEM()),
			"STAGECOACH_GITHUB_API_URL":     sim.URL(),
		}
	}

	t.Run("a complete setup passes every check", func(t *testing.T) {
		t.Parallel()
		tools, err := toolchain.Find(t.Context(), toolchain.Options{})
		if err != nil {
			testenv.SkipOrFail(t, "no Pulumi CLI here (run `go run ./cmd/bot toolchain install`): %v", err)
		}
		e := env(t)
		e["STAGECOACH_PULUMI_COMMAND"] = tools.Pulumi
		out, err := runCmd(t, e, "doctor")
		if err != nil {
			t.Fatalf("doctor failed: %v\n%s", err, out)
		}
		for _, want := range []string{"✓ Pulumi CLI", "✓ database", `authenticated as "stagecoach-test"`, "✓ webhook secret"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("a machine without the CLI fails with a fix", func(t *testing.T) {
		t.Parallel()
		e := env(t)
		e["STAGECOACH_PULUMI_COMMAND"] = filepath.Join(t.TempDir(), "no-pulumi-here")
		out, err := runCmd(t, e, "doctor")
		if !errors.Is(err, errReported) {
			t.Fatalf("err = %v, want exit 1", err)
		}
		if !strings.Contains(out, "✗ Pulumi CLI") || !strings.Contains(out, "fix:") {
			t.Fatalf("output:\n%s", out)
		}
	})

	t.Run("a key that does not belong to the App is caught", func(t *testing.T) {
		t.Parallel()
		other, err := githubsim.New(githubsim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		e := env(t)
		e["STAGECOACH_GITHUB_PRIVATE_KEY"] = string(other.AppPrivateKeyPEM())
		out, _ := runCmd(t, e, "doctor")
		if !strings.Contains(out, "✗ GitHub API") {
			t.Fatalf("output:\n%s", out)
		}
	})
}

func TestDoctorReportsMigrations(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name+": pending ones before an upgrade and newer ones after a rollback, without migrating", func(t *testing.T) {
			t.Parallel()
			o := e.NewOptions(t)
			var cfg config.Config
			if o.SQLitePath != "" {
				cfg.Store.DatabaseURL = "sqlite://" + o.SQLitePath
			} else {
				sep := "?"
				if strings.Contains(o.DatabaseURL, "?") {
					sep = "&"
				}
				cfg.Store.DatabaseURL = o.DatabaseURL + sep + "search_path=" + o.Schema
			}
			check := databaseCheck(cfg)
			detail := func() string {
				t.Helper()
				d, err := check.Run(t.Context())
				if err != nil {
					t.Fatalf("the database check failed: %v", err)
				}
				return d
			}

			st := storetest.Open(t, o)
			if d := detail(); !strings.HasSuffix(d, "; migrations current") {
				t.Errorf("a migrated database: %q, want migrations current", d)
			}
			var version int
			var name string
			if err := st.DB().QueryRowContext(t.Context(), `SELECT version, name FROM stagecoach_migration ORDER BY version DESC LIMIT 1`).Scan(&version, &name); err != nil {
				t.Fatal(err)
			}
			if _, err := st.DB().ExecContext(t.Context(), `DELETE FROM stagecoach_migration WHERE version = $1`, version); err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("1 migration pending (%d %s); `bot serve` applies them on start", version, name)
			for range 2 { // the check itself applies nothing
				if d := detail(); !strings.Contains(d, want) {
					t.Errorf("one migration behind: %q, want %q", d, want)
				}
			}
			if _, err := st.DB().ExecContext(t.Context(), `INSERT INTO stagecoach_migration (version, name, applied_at) VALUES (9001, 'a newer table', 0)`); err != nil {
				t.Fatal(err)
			}
			if d := detail(); !strings.Contains(d, "1 migration from a newer stagecoach (9001 a newer table)") {
				t.Errorf("a database ahead of the binary: %q, want the newer migration named", d)
			}
		})
	}
}
