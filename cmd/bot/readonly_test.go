package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// TestChecksAreReadOnly: `bot doctor` and `bot schedule` report a database's state without
// creating or migrating it, on SQLite and Postgres.
func TestChecksAreReadOnly(t *testing.T) {
	t.Parallel()
	type target struct {
		env    map[string]string
		opts   store.Options
		schema string // Postgres: the test's schema, not created until something migrates
	}
	targets := map[string]func(t *testing.T) target{
		"sqlite": func(t *testing.T) target {
			dir := t.TempDir()
			return target{env: map[string]string{"STAGECOACH_DATA_DIR": dir},
				opts: store.Options{SQLitePath: filepath.Join(dir, "stagecoach.db")}}
		},
		"postgres": func(t *testing.T) target {
			o := storetest.Postgres(t)
			u, err := url.Parse(o.DatabaseURL)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("search_path", o.Schema)
			u.RawQuery = q.Encode()
			return target{env: map[string]string{"STAGECOACH_DATA_DIR": t.TempDir(), "STAGECOACH_DATABASE_URL": u.String()},
				opts: store.Options{DatabaseURL: u.String()}, schema: o.Schema}
		},
	}
	tables := func(t *testing.T, tg target) int {
		t.Helper()
		if tg.opts.SQLitePath != "" {
			if _, err := os.Stat(tg.opts.SQLitePath); os.IsNotExist(err) {
				return -1 // no database at all
			}
		}
		o := tg.opts
		o.NoMigrate = true
		st, err := store.Open(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		names, err := st.Tables(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(names)
	}
	run := map[string]func(t *testing.T, env map[string]string) string{
		"doctor": func(t *testing.T, env map[string]string) string {
			out, _ := runCmd(t, env, "doctor") // other checks fail here; only the database line matters
			return out
		},
		"schedule": func(t *testing.T, env map[string]string) string {
			var out strings.Builder
			if err := scheduleCommand(context.Background(), nil, func(k string) string { return env[k] },
				func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }, &out); err != nil {
				t.Fatalf("schedule: %v\n%s", err, out.String())
			}
			return out.String()
		},
	}
	wantFresh := map[string]map[string]string{
		"doctor":   {"sqlite": "does not exist yet; `bot serve` creates it", "postgres": "no tables yet"},
		"schedule": {"sqlite": "No database at", "postgres": "no tables yet"},
	}
	for engine, newTarget := range targets {
		for cmd, runIt := range run {
			t.Run(cmd+" on a fresh "+engine+" database", func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t)
				before := tables(t, tg)
				out := runIt(t, tg.env)
				if after := tables(t, tg); after != before {
					t.Fatalf("%s changed the schema: %d tables before, %d after\n%s", cmd, before, after, out)
				}
				if !strings.Contains(out, wantFresh[cmd][engine]) {
					t.Fatalf("output lacks %q:\n%s", wantFresh[cmd][engine], out)
				}
			})
		}
		t.Run("doctor on a migrated "+engine+" database says the migrations are current", func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t)
			o := tg.opts
			o.Schema = tg.schema
			st, err := store.Open(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			before := tables(t, tg)
			out := run["doctor"](t, tg.env)
			if after := tables(t, tg); after != before {
				t.Fatalf("doctor changed the schema: %d tables before, %d after", before, after)
			}
			if !strings.Contains(out, "migrations current") {
				t.Fatalf("output:\n%s", out)
			}
		})
	}
}
