// Package storetest opens real stores for tests: SQLite in a temp dir, and Postgres
// in a fresh schema when STAGECOACH_TEST_DATABASE_URL is set.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/testenv"
)

// EnvDatabaseURL names the variable that turns the Postgres tests on.
const EnvDatabaseURL = "STAGECOACH_TEST_DATABASE_URL"

// Engine is a database a test suite runs against.
type Engine struct {
	// Name is "sqlite" or "postgres", for subtest names.
	Name string
	// Options opens this engine; each call of NewOptions gives a fresh, empty database.
	NewOptions func(t testing.TB) store.Options
}

// Engines lists SQLite and, when STAGECOACH_TEST_DATABASE_URL is set, Postgres.
func Engines() []Engine {
	return []Engine{
		{Name: "sqlite", NewOptions: SQLite},
		{Name: "postgres", NewOptions: Postgres},
	}
}

// SQLite returns options for a fresh SQLite database in a temp dir.
func SQLite(t testing.TB) store.Options {
	return store.Options{SQLitePath: filepath.Join(t.TempDir(), "stagecoach.db")}
}

// Postgres returns options for a fresh schema in the test database, dropped at cleanup,
// or skips the test with a message saying how to run it.
func Postgres(t testing.TB) store.Options {
	url := os.Getenv(EnvDatabaseURL)
	if url == "" {
		testenv.SkipOrFail(t, "Postgres tests are off: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run them", EnvDatabaseURL)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	return store.Options{DatabaseURL: url, Schema: schema}
}

// Open opens a store with o and closes it at cleanup.
func Open(t testing.TB, o store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
