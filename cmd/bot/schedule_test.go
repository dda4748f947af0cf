package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/store"
)

const scheduleConfig = `version: 1
environments:
  - name: dev
  - name: staging
  - name: prod
schedules:
  dev:
    sleep: "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI"
    wake: "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI"
  staging:
    sleep: "CRON_TZ=America/New_York 0 20 * * FRI"
    wake: "CRON_TZ=America/New_York 0 7 * * MON"
`

func TestSchedule(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 20, 30, 0, 0, time.UTC) // Friday 21:30 in Berlin, 15:30 in New York
	clock := func() time.Time { return now }

	t.Run("a local file shows states, next transitions and savings", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), ".stagecoach.yaml")
		os.WriteFile(file, []byte(scheduleConfig), 0o600)
		var out strings.Builder
		if err := scheduleCommand(context.Background(), []string{file}, func(string) string { return "" }, clock, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"dev", "asleep", "wakes Mon 30 Nov 07:00 CET", "65 of 168 h", "61%", "staging", "awake", "sleeps Fri 27 Nov 20:00 EST", "109 of 168 h"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("the bot's view includes overrides from the database", func(t *testing.T) {
		t.Parallel()
		env := servingRepos(t, map[string]string{"shop": scheduleConfig}, func(st *store.Store) error {
			return st.SetSleepOverride(context.Background(), store.SleepOverride{Repo: "acme/shop", Environment: "dev", State: "awake",
				Until: now.Add(2 * time.Hour), SetBy: "alice", SetAt: now})
		})
		var out strings.Builder
		if err := scheduleCommand(context.Background(), nil, func(k string) string { return env[k] }, clock, &out); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"acme/shop dev", "awake by alice until Fri 23:30 CET", "acme/shop staging"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})
}

// servingRepos starts a simulated GitHub whose installation acme holds the repositories given
// (name → .stagecoach.yaml), and a database in which the bot has seen them, then lets seed write
// more to it. It returns the settings that point `bot schedule` at both.
func servingRepos(t *testing.T, configs map[string]string, seed func(*store.Store) error) map[string]string {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(dir, "stagecoach.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, cfg := range configs {
		if _, err := sim.CreateRepo("acme", name, map[string]string{".stagecoach.yaml": cfg}); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchRepository(context.Background(), "acme/"+name, inst); err != nil {
			t.Fatal(err)
		}
	}
	if seed != nil {
		if err := seed(st); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{"STAGECOACH_DATA_DIR": dir, "STAGECOACH_GITHUB_APP_ID": strconv.FormatInt(sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY": string(sim.AppPrivateKeyPEM()), "STAGECOACH_GITHUB_API_URL": sim.URL()}
}
