package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/doctor"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func doctorCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := newCmdline(config.CommandDoctor, "", "Checks every part stagecoach needs and prints one line each with a fix hint; the first check is that "+
		"every setting `bot serve` reads (see `bot help serve`) is valid. Exits 1 when something required is missing.", stdout).withOutput()
	if done, err := c.parseArgs(args, 0); done {
		return err
	}
	// A value that does not parse fails the settings check; the other checks run on the rest.
	cfg, loadErr := config.Load(c.getenv(getenv))
	tc := toolchain.Options{Command: cfg.Pulumi.Command}
	checks := []doctor.Check{
		{Name: "settings", Required: true, Fix: "fix the variables named above (see `bot --help`)",
			Run: func(context.Context) (string, error) {
				return "all settings parse", errors.Join(loadErr, cfg.Validate())
			}},
		doctor.PulumiCLI(tc),
		doctor.LanguageHosts(tc),
		doctor.Runner(cfg.Pulumi.Runner),
		doctor.Backend(cfg.Pulumi.BackendURL),
		doctor.SecretsProvider(cfg.Pulumi.SecretsProvider, cfg.Pulumi.Passphrase != ""),
		databaseCheck(cfg),
		{Name: "webhook secret", Required: true,
			Fix: "set STAGECOACH_WEBHOOK_SECRET (or STAGECOACH_WEBHOOK_SECRET_FILE) to the secret of the App's webhook",
			Run: func(context.Context) (string, error) {
				if cfg.HTTP.WebhookSecret == "" {
					return "", errors.New("not set")
				}
				return fmt.Sprintf("set (%d characters)", len(cfg.HTTP.WebhookSecret)), nil
			}},
		appKeyCheck(cfg.GitHub),
		apiCheck(cfg.GitHub),
	}
	results := doctor.Evaluate(ctx, checks)
	if c.json() {
		if err := writeJSON(stdout, doctorJSON(results)); err != nil {
			return err
		}
	} else {
		doctor.Write(stdout, results)
	}
	if !doctor.OK(results) {
		return errReported
	}
	return nil
}

// doctorReport is `bot doctor -o json`: a stable shape, documented in the README.
type doctorReport struct {
	OK     bool          `json:"ok"`
	Checks []doctorCheck `json:"checks"`
}

type doctorCheck struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Status   string `json:"status"` // pass, fail or skip
	Detail   string `json:"detail"`
	Fix      string `json:"fix,omitempty"` // only on failure
}

func doctorJSON(results []doctor.Result) doctorReport {
	r := doctorReport{OK: doctor.OK(results), Checks: make([]doctorCheck, 0, len(results))}
	for _, res := range results {
		c := doctorCheck{Name: res.Check.Name, Required: res.Check.Required, Status: string(res.Status), Detail: res.Detail}
		if res.Status == doctor.Failed {
			c.Fix = res.Check.Fix
		}
		r.Checks = append(r.Checks, c)
	}
	return r
}

func databaseCheck(cfg config.Config) doctor.Check {
	return doctor.Check{Name: "database", Required: true,
		Fix: "check STAGECOACH_DATABASE_URL (postgres://user:pass@host:5432/db) or that STAGECOACH_DATA_DIR is writable",
		Run: func(ctx context.Context) (string, error) {
			path, _ := cfg.Store.SQLitePath()
			// Read-only: a check must not upgrade the schema ahead of a rollout.
			st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.Store.DatabaseURL, SQLitePath: path, NoMigrate: true})
			if errors.Is(err, store.ErrNoDatabase) {
				return "SQLite at " + path + " does not exist yet; `bot serve` creates it", nil
			}
			if err != nil {
				return "", err
			}
			defer st.Close()
			where := "Postgres reachable"
			if st.Dialect() == store.SQLite {
				where = "SQLite at " + path + " (one replica)"
			}
			return where + "; " + describePending(ctx, st), nil
		}}
}

// describePending says which migrations `bot serve` would apply, without applying them, and which
// the database has from a newer stagecoach.
func describePending(ctx context.Context, st *store.Store) string {
	p, err := st.PendingMigrations(ctx)
	if err != nil {
		return "could not read the applied migrations: " + err.Error()
	}
	var says []string
	switch {
	case p.Empty:
		says = append(says, "no tables yet; `bot serve` creates them on start")
	case p.Count() == 0:
		says = append(says, "migrations current")
	default:
		parts := slices.Clone(p.Own)
		if p.River > 0 {
			parts = append(parts, fmt.Sprintf("%d of River's", p.River))
		}
		says = append(says, fmt.Sprintf("%s pending (%s); `bot serve` applies them on start (back up first, see OPERATIONS.md)",
			migrationCount(p.Count()), strings.Join(parts, ", ")))
	}
	if len(p.Newer) > 0 {
		says = append(says, fmt.Sprintf("%s from a newer stagecoach (%s), which this version does not use; "+
			"see OPERATIONS.md, Rolling back", migrationCount(len(p.Newer)), strings.Join(p.Newer, ", ")))
	}
	return strings.Join(says, "; ")
}

func migrationCount(n int) string {
	if n == 1 {
		return "1 migration"
	}
	return fmt.Sprintf("%d migrations", n)
}

func appKeyCheck(gh config.GitHub) doctor.Check {
	return doctor.Check{Name: "GitHub App key", Required: true,
		Fix: "set STAGECOACH_GITHUB_APP_ID and STAGECOACH_GITHUB_PRIVATE_KEY_FILE to the App's id and downloaded .pem",
		Run: func(context.Context) (string, error) {
			if gh.AppID == 0 {
				return "", errors.New("STAGECOACH_GITHUB_APP_ID is not set")
			}
			if len(gh.PrivateKey) == 0 {
				return "", errors.New("no private key")
			}
			if err := githubapp.ParsePrivateKey(gh.PrivateKey); err != nil {
				return "", err
			}
			return fmt.Sprintf("App %d, RSA key from %s", gh.AppID, gh.PrivateKeySource), nil
		}}
}

func apiCheck(gh config.GitHub) doctor.Check {
	return doctor.Check{Name: "GitHub API", Required: true,
		Fix: "check network access to STAGECOACH_GITHUB_API_URL and that the App id matches the key",
		Run: func(ctx context.Context) (string, error) {
			if gh.AppID == 0 || githubapp.ParsePrivateKey(gh.PrivateKey) != nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, gh.APIURL, nil)
				if err != nil {
					return "", err
				}
				resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
				if err != nil {
					return "", fmt.Errorf("%s unreachable: %w", gh.APIURL, err)
				}
				resp.Body.Close()
				return "", fmt.Errorf("%s reachable (HTTP %d), but the App cannot authenticate without its id and key", gh.APIURL, resp.StatusCode)
			}
			app, err := githubapp.New(githubapp.Config{AppID: gh.AppID, PrivateKey: gh.PrivateKey, APIURL: gh.APIURL}, nil)
			if err != nil {
				return "", err
			}
			a, _, err := app.AppClient().Apps.Get(ctx, "")
			if err != nil {
				return "", fmt.Errorf("authenticating as App %d at %s: %w", gh.AppID, gh.APIURL, err)
			}
			return fmt.Sprintf("authenticated as %q at %s", a.GetSlug(), strings.TrimSuffix(gh.APIURL, "/")), nil
		}}
}
