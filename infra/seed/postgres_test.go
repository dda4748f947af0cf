package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stagecoach/stagecoach/internal/testenv"
)

// testDatabaseEnv names the admin URL of the Postgres server the tests use.
const testDatabaseEnv = "STAGECOACH_TEST_DATABASE_URL"

// freshDatabase creates an empty database for one test on the server named by
// STAGECOACH_TEST_DATABASE_URL and drops it when the test ends. It returns the
// database's URL. Without the variable the test is skipped.
func freshDatabase(t *testing.T) string {
	t.Helper()
	return freshNamedDatabase(t, "")
}

// freshNamedDatabase is freshDatabase for a test that needs several databases:
// label tells them apart.
func freshNamedDatabase(t *testing.T, label string) string {
	t.Helper()
	admin := os.Getenv(testDatabaseEnv)
	if admin == "" {
		testenv.SkipOrFail(t, "%s is not set: skipping the Postgres test (example: postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", testDatabaseEnv)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to %s: %v", testDatabaseEnv, err)
	}
	defer func() { _ = conn.Close(ctx) }()

	// One database per test and process: parallel tests and parallel
	// `go test` runs never share one.
	sum := sha256.Sum256([]byte(t.Name() + "\x00" + label))
	name := fmt.Sprintf("seed_test_%d_%s", os.Getpid(), hex.EncodeToString(sum[:6]))
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		t.Fatalf("dropping leftover database %s: %v", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("creating database %s (the test role needs CREATEDB): %v", name, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			t.Errorf("connecting to drop %s: %v", name, err)
			return
		}
		defer func() { _ = c.Close(context.Background()) }()
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})

	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parsing %s: %v", testDatabaseEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// connect opens a connection to databaseURL, closed when the test ends.
func connect(t *testing.T, databaseURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), databaseURL)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// tableState is what a test observes of one table, computed by SQL alone.
type tableState struct {
	Rows int
	Hash string
}

// observe reads row counts and content hashes of every sample table straight
// from the database, independently of the seeder's own bookkeeping.
func observe(t *testing.T, conn *pgx.Conn) map[string]tableState {
	t.Helper()
	state := map[string]tableState{}
	for _, name := range []string{"customers", "products", "orders", "order_items"} {
		var s tableState
		err := conn.QueryRow(context.Background(), fmt.Sprintf(
			`SELECT count(*), md5(coalesce(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM sample.%s t`, name)).
			Scan(&s.Rows, &s.Hash)
		if err != nil {
			t.Fatalf("observing sample.%s: %v", name, err)
		}
		state[name] = s
	}
	return state
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
