package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/schedule"
	"github.com/stagecoach/stagecoach/internal/store"
)

func scheduleCommand(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout io.Writer) error {
	c := newCmdline(config.CommandSchedule, "[FILE]", "Prints, per environment: its state now, the override if any, the next transitions in its time zone, "+
		"and the awake hours per week with the share saved against always-on. Without FILE: every repository the bot serves "+
		"(its .stagecoach.yaml read through the GitHub App, overrides from the database). With FILE: a local .stagecoach.yaml, "+
		"to check a change; it then reads no settings. Exits 1, after printing the others, when a repository's schedules cannot be read.", stdout).withOutput()
	if done, err := c.parseArgs(args, 1); done {
		return err
	}
	var rep scheduleReport
	var err error
	if file := c.arg(0); file != "" {
		rep, err = scheduleFile(file, now)
	} else {
		rep, err = scheduleAll(ctx, c.getenv(getenv), now)
	}
	if err != nil {
		return err
	}
	if c.json() {
		err = writeJSON(stdout, rep.json())
	} else {
		err = rep.writeTable(stdout)
	}
	if err != nil {
		return err
	}
	if len(rep.failed) > 0 {
		var errs []error
		for _, f := range rep.failed {
			errs = append(errs, fmt.Errorf("%s: %w", f.repo, f.err))
		}
		return fmt.Errorf("could not read the schedules of %d repository(ies); the report leaves them out:\n%w", len(rep.failed), errors.Join(errs...))
	}
	return nil
}

// scheduleReport is what `bot schedule` found: statuses, what it could not read, and notes for people.
type scheduleReport struct {
	statuses []schedule.Status
	failed   []repoFailure
	notes    []string // printed before the table; -o json leaves them out
	empty    string   // printed instead of an empty table
}

type repoFailure struct {
	repo string
	err  error
}

func (r scheduleReport) writeTable(w io.Writer) error {
	for _, n := range r.notes {
		fmt.Fprintln(w, n)
	}
	if len(r.statuses) == 0 {
		if r.empty != "" {
			fmt.Fprintln(w, r.empty)
		}
		return nil
	}
	return schedule.WriteReport(w, r.statuses)
}

// scheduleFile previews the schedules of a local file.
func scheduleFile(file string, now func() time.Time) (scheduleReport, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return scheduleReport{}, fmt.Errorf("reading %s: %w", file, err)
	}
	cfg, err := repoconfig.Parse(file, data)
	if err != nil {
		return scheduleReport{}, err
	}
	plans, err := plansOf(cfg)
	if err != nil {
		return scheduleReport{}, err
	}
	return scheduleReport{statuses: schedule.Evaluate("", now(), plans, nil),
		empty: file + " has no schedules: every environment is always on."}, nil
}

// scheduleAll reports every repository the bot has heard from. A repository whose schedules
// cannot be read is left out and listed in failed; the others are reported.
func scheduleAll(ctx context.Context, getenv func(string) string, now func() time.Time) (scheduleReport, error) {
	var rep scheduleReport
	cfg, err := config.LoadFor(config.CommandSchedule, getenv)
	if err != nil {
		return rep, fmt.Errorf("reading settings:\n%w", err)
	}
	if err := errors.Join(cfg.Store.Validate(), cfg.GitHub.Validate()); err != nil {
		return rep, fmt.Errorf("the settings are not usable:\n%w", err)
	}
	path, _ := cfg.Store.SQLitePath()
	// Read-only: a report must not upgrade the schema ahead of a rollout.
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.Store.DatabaseURL, SQLitePath: path, NoMigrate: true})
	if errors.Is(err, store.ErrNoDatabase) {
		rep.empty = fmt.Sprintf("No database at %s yet: the bot has not run, so it serves no repository. (`bot serve` creates it.)", path)
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	defer st.Close()
	pending, err := st.PendingMigrations(ctx)
	if err != nil {
		return rep, err
	}
	if pending.Empty {
		rep.empty = "The database has no tables yet: the bot has not run, so it serves no repository. (`bot serve` creates them.)"
		return rep, nil
	}
	if pending.Count() > 0 {
		rep.notes = append(rep.notes, fmt.Sprintf("database: %d migrations pending; `bot serve` applies them on start. Reading what is there.", pending.Count()))
	}
	app, err := githubapp.New(githubapp.Config{AppID: cfg.GitHub.AppID, PrivateKey: cfg.GitHub.PrivateKey, APIURL: cfg.GitHub.APIURL}, nil)
	if err != nil {
		return rep, fmt.Errorf("reading each repository's schedules needs the GitHub App (or give a FILE): %w", err)
	}
	configs := repoconfig.NewLoaders(githubapi.Apps{App: app}, slog.New(slog.DiscardHandler))
	repos, err := st.Repositories(ctx)
	if err != nil {
		return rep, err
	}
	for _, r := range repos {
		loaded, err := configs.Load(ctx, r.InstallationID, r.Repo)
		if errors.Is(err, repoconfig.ErrNotFound) {
			continue
		}
		if err != nil {
			rep.failed = append(rep.failed, repoFailure{r.Repo, err})
			continue
		}
		plans, err := plansOf(loaded.Config)
		if err != nil {
			rep.failed = append(rep.failed, repoFailure{r.Repo, err})
			continue
		}
		stored, err := st.SleepOverrides(ctx, r.Repo)
		if err != nil {
			return rep, err
		}
		overrides := map[string]*schedule.Override{}
		for env, o := range stored {
			overrides[env] = &schedule.Override{State: schedule.State(o.State), Until: o.Until, By: o.SetBy, At: o.SetAt}
		}
		rep.statuses = append(rep.statuses, schedule.Evaluate(r.Repo, now(), plans, overrides)...)
	}
	rep.empty = "No repository the bot serves has a sleep schedule."
	return rep, nil
}

// scheduleJSON is `bot schedule -o json`: a stable shape, documented in the README.
type scheduleJSON struct {
	Environments []scheduleEnvironment `json:"environments"`
	Errors       []scheduleError       `json:"errors"` // repositories whose schedules could not be read
}

type scheduleEnvironment struct {
	Repo              string               `json:"repo"` // owner/name; "" for a local file
	Environment       string               `json:"environment"`
	State             string               `json:"state"` // awake or asleep
	Override          *scheduleOverride    `json:"override"`
	Next              []scheduleTransition `json:"next"`
	TimeZone          string               `json:"timeZone"` // of the schedule; times below are in it
	AwakeHoursPerWeek float64              `json:"awakeHoursPerWeek"`
	SavedPercent      float64              `json:"savedPercent"` // against always on, one decimal
}

type scheduleOverride struct {
	State string `json:"state"`
	By    string `json:"by"`
	Until string `json:"until"` // RFC 3339
}

type scheduleTransition struct {
	State string `json:"state"` // the state it enters
	At    string `json:"at"`    // RFC 3339
}

type scheduleError struct {
	Repo  string `json:"repo"`
	Error string `json:"error"`
}

func (r scheduleReport) json() scheduleJSON {
	out := scheduleJSON{Environments: []scheduleEnvironment{}, Errors: []scheduleError{}}
	for _, s := range r.statuses {
		loc := s.Plan.Sleep.Location()
		e := scheduleEnvironment{Repo: s.Repo, Environment: s.Plan.Environment, State: string(s.Decision.State),
			Next: []scheduleTransition{}, TimeZone: loc.String(), AwakeHoursPerWeek: s.Week.Awake.Hours(),
			SavedPercent: math.Round(s.Week.Saved()*1000) / 10}
		if o := s.Decision.Override; o != nil {
			e.Override = &scheduleOverride{State: string(o.State), By: o.By, Until: o.Until.In(loc).Format(time.RFC3339)}
		}
		for _, t := range s.Next {
			e.Next = append(e.Next, scheduleTransition{State: string(t.State), At: t.At.In(loc).Format(time.RFC3339)})
		}
		out.Environments = append(out.Environments, e)
	}
	for _, f := range r.failed {
		out.Errors = append(out.Errors, scheduleError{Repo: f.repo, Error: f.err.Error()})
	}
	return out
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
