package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/schedule"
	"github.com/stagecoach/stagecoach/internal/store"
)

func scheduleCommand(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout io.Writer) error {
	fs := newFlags("schedule [FILE]", "Prints, per environment: its state now, the override if any, the next transitions in its time zone, and the awake hours per week with the share saved against always-on. Without FILE: every repository the bot serves (its .stagecoach.yaml read through the GitHub App, overrides from the database). With FILE: a local .stagecoach.yaml, to check a change.", stdout, true)
	if done, err := parseFlags(fs, args); done {
		return err
	}
	switch fs.NArg() {
	case 0:
		return scheduleAll(ctx, getenv, now, stdout)
	case 1:
		return scheduleFile(fs.Arg(0), now, stdout)
	}
	return errors.New("schedule takes at most one file")
}

// scheduleFile previews the schedules of a local file.
func scheduleFile(file string, now func() time.Time, stdout io.Writer) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	cfg, err := repoconfig.Parse(file, data)
	if err != nil {
		return err
	}
	plans, err := plansOf(cfg)
	if err != nil {
		return err
	}
	if len(plans) == 0 {
		fmt.Fprintf(stdout, "%s has no schedules: every environment is always on.\n", file)
		return nil
	}
	return schedule.WriteReport(stdout, schedule.Evaluate("", now(), plans, nil))
}

// scheduleAll reports every repository the bot has heard from.
func scheduleAll(ctx context.Context, getenv func(string) string, now func() time.Time, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	path, _ := cfg.Store.SQLitePath()
	// Read-only: a report must not upgrade the schema ahead of a rollout.
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.Store.DatabaseURL, SQLitePath: path, NoMigrate: true})
	if errors.Is(err, store.ErrNoDatabase) {
		fmt.Fprintf(stdout, "No database at %s yet: the bot has not run, so it serves no repository. (`bot serve` creates it.)\n", path)
		return nil
	}
	if err != nil {
		return err
	}
	defer st.Close()
	pending, err := st.PendingMigrations(ctx)
	if err != nil {
		return err
	}
	if pending.Empty {
		fmt.Fprintln(stdout, "The database has no tables yet: the bot has not run, so it serves no repository. (`bot serve` creates them.)")
		return nil
	}
	if pending.Count() > 0 {
		fmt.Fprintf(stdout, "database: %d migrations pending; `bot serve` applies them on start. Reading what is there.\n", pending.Count())
	}
	app, err := githubapp.New(githubapp.Config{AppID: cfg.GitHub.AppID, PrivateKey: cfg.GitHub.PrivateKey, APIURL: cfg.GitHub.APIURL}, nil)
	if err != nil {
		return fmt.Errorf("reading each repository's schedules needs the GitHub App (or give a FILE): %w", err)
	}
	configs := repoconfig.NewLoaders(githubapi.Apps{App: app}, slog.New(slog.DiscardHandler))
	repos, err := st.Repositories(ctx)
	if err != nil {
		return err
	}
	var statuses []schedule.Status
	for _, r := range repos {
		loaded, err := configs.Load(ctx, r.InstallationID, r.Repo)
		if err != nil {
			if !errors.Is(err, repoconfig.ErrNotFound) {
				fmt.Fprintf(stdout, "%s: %v\n", r.Repo, err)
			}
			continue
		}
		plans, err := plansOf(loaded.Config)
		if err != nil {
			return err
		}
		stored, err := st.SleepOverrides(ctx, r.Repo)
		if err != nil {
			return err
		}
		overrides := map[string]*schedule.Override{}
		for env, o := range stored {
			overrides[env] = &schedule.Override{State: schedule.State(o.State), Until: o.Until, By: o.SetBy, At: o.SetAt}
		}
		statuses = append(statuses, schedule.Evaluate(r.Repo, now(), plans, overrides)...)
	}
	if len(statuses) == 0 {
		fmt.Fprintln(stdout, "No repository the bot serves has a sleep schedule.")
		return nil
	}
	return schedule.WriteReport(stdout, statuses)
}

func plansOf(cfg *repoconfig.Config) ([]schedule.Plan, error) {
	var plans []schedule.Plan
	for _, s := range cfg.Schedules {
		p, err := schedule.NewPlan(s)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}
