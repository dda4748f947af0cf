package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

func TestSeederRun(t *testing.T) {
	t.Parallel()
	want := Generate(DefaultSeed)
	wantRows := map[string]int{
		"customers":   len(want.Customers),
		"products":    len(want.Products),
		"orders":      len(want.Orders),
		"order_items": len(want.OrderItems),
	}

	t.Run("loads every generated row and reports the counts", func(t *testing.T) {
		t.Parallel()
		conn := connect(t, freshDatabase(t))
		summary, err := Seeder{Environment: "dev", Logger: quietLogger()}.Run(context.Background(), conn)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		for name, state := range observe(t, conn) {
			if state.Rows != wantRows[name] {
				t.Errorf("sample.%s has %d rows, want %d", name, state.Rows, wantRows[name])
			}
			if summary.Rows[name] != wantRows[name] {
				t.Errorf("summary reports %d rows for %s, want %d", summary.Rows[name], name, wantRows[name])
			}
		}
		if summary.SchemaVersion != SchemaVersion() || summary.Seed != DefaultSeed || summary.Environment != "dev" {
			t.Errorf("summary = %+v, want schema %s, seed %d, environment dev", summary, SchemaVersion(), DefaultSeed)
		}
		var version string
		if err := conn.QueryRow(context.Background(), "SELECT value FROM sample.seed_info WHERE key = 'schema_version'").Scan(&version); err != nil {
			t.Fatalf("reading seed_info: %v", err)
		}
		if version != SchemaVersion() {
			t.Errorf("seed_info schema_version = %q, want %q", version, SchemaVersion())
		}
	})

	t.Run("a second run leaves the same rows with the same content", func(t *testing.T) {
		t.Parallel()
		conn := connect(t, freshDatabase(t))
		s := Seeder{Environment: "staging", Logger: quietLogger()}
		if _, err := s.Run(context.Background(), conn); err != nil {
			t.Fatalf("first Run: %v", err)
		}
		first := observe(t, conn)
		if _, err := s.Run(context.Background(), conn); err != nil {
			t.Fatalf("second Run: %v", err)
		}
		if second := observe(t, conn); !maps.Equal(first, second) {
			t.Errorf("second run changed the data:\nfirst  %v\nsecond %v", first, second)
		}
	})

	t.Run("a re-run restores seeded rows that were edited and keeps foreign rows", func(t *testing.T) {
		t.Parallel()
		conn := connect(t, freshDatabase(t))
		s := Seeder{Environment: "pr-7", Logger: quietLogger()}
		if _, err := s.Run(context.Background(), conn); err != nil {
			t.Fatalf("first Run: %v", err)
		}
		seeded := observe(t, conn)
		ctx := context.Background()
		if _, err := conn.Exec(ctx, "UPDATE sample.customers SET city = 'Atlantis' WHERE id = 1"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO sample.customers (id, name, email, city, created_at)
			VALUES (100000, 'Test User', 'test.user@example.com', 'Ghent', now())`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(ctx, conn); err != nil {
			t.Fatalf("second Run: %v", err)
		}
		var city string
		if err := conn.QueryRow(ctx, "SELECT city FROM sample.customers WHERE id = 1").Scan(&city); err != nil {
			t.Fatal(err)
		}
		if city != want.Customers[0].City {
			t.Errorf("customer 1 city = %q after re-run, want the seeded %q", city, want.Customers[0].City)
		}
		after := observe(t, conn)
		if after["customers"].Rows != seeded["customers"].Rows+1 {
			t.Errorf("customers = %d rows, want the %d seeded plus the one added by hand", after["customers"].Rows, seeded["customers"].Rows)
		}
		if after["orders"] != seeded["orders"] {
			t.Errorf("orders changed on re-run: %v → %v", seeded["orders"], after["orders"])
		}
	})

	t.Run("the same seed yields identical data in separate databases", func(t *testing.T) {
		t.Parallel()
		a := connect(t, freshNamedDatabase(t, "a"))
		b := connect(t, freshNamedDatabase(t, "b"))
		for _, c := range []*pgx.Conn{a, b} {
			if _, err := (Seeder{Environment: "dev", Logger: quietLogger()}).Run(context.Background(), c); err != nil {
				t.Fatalf("Run: %v", err)
			}
		}
		if sa, sb := observe(t, a), observe(t, b); !maps.Equal(sa, sb) {
			t.Errorf("same seed, different data:\n%v\n%v", sa, sb)
		}
	})

	t.Run("concurrent runs against one database both succeed", func(t *testing.T) {
		t.Parallel()
		url := freshDatabase(t)
		conns := []*pgx.Conn{connect(t, url), connect(t, url)}
		var g errgroup.Group
		for _, c := range conns {
			g.Go(func() error {
				_, err := Seeder{Environment: "dev", Logger: quietLogger()}.Run(context.Background(), c)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatalf("concurrent Run: %v", err)
		}
		if got := observe(t, conns[0]); got["order_items"].Rows != wantRows["order_items"] {
			t.Errorf("order_items = %d rows, want %d", got["order_items"].Rows, wantRows["order_items"])
		}
	})

	t.Run("refuses a database whose comment says production and writes nothing", func(t *testing.T) {
		t.Parallel()
		url := freshDatabase(t)
		conn := connect(t, url)
		ctx := context.Background()
		if _, err := conn.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{conn.Config().Database}.Sanitize()+
			" IS 'stagecoach: Production database, do not seed'"); err != nil {
			t.Fatal(err)
		}
		_, err := Seeder{Environment: "dev", Logger: quietLogger()}.Run(ctx, conn)
		if !errors.Is(err, ErrProductionDatabase) {
			t.Fatalf("Run error = %v, want ErrProductionDatabase", err)
		}
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'sample')").Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Error("the sample schema was created on a production database")
		}
	})
}

func TestCheckEnvironment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env        string
		production bool
		wantErr    bool
	}{
		{env: "dev"}, {env: "staging"}, {env: "pr-12"}, {env: "local"},
		{env: "prod", production: true, wantErr: true},
		{env: "Production", production: true, wantErr: true},
		{env: " PROD ", production: true, wantErr: true},
		{env: "", wantErr: true},
	} {
		t.Run(fmt.Sprintf("environment %q", tc.env), func(t *testing.T) {
			t.Parallel()
			err := checkEnvironment(tc.env)
			if (err != nil) != tc.wantErr {
				t.Fatalf("checkEnvironment(%q) = %v, want error %v", tc.env, err, tc.wantErr)
			}
			if errors.Is(err, ErrProductionDatabase) != tc.production {
				t.Errorf("checkEnvironment(%q) = %v, want ErrProductionDatabase %v", tc.env, err, tc.production)
			}
		})
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	noEnv := func(string) string { return "" }

	t.Run("seeds the database at --database-url and prints the summary", func(t *testing.T) {
		t.Parallel()
		url := freshDatabase(t)
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"--database-url", url, "--environment", "dev", "--seed", "7"}, noEnv, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
		}
		var summary Summary
		if err := json.Unmarshal(stdout.Bytes(), &summary); err != nil {
			t.Fatalf("stdout is not a summary: %v\n%s", err, stdout.String())
		}
		if summary.Seed != 7 || summary.Rows["orders"] != len(Generate(7).Orders) {
			t.Errorf("summary = %+v, want seed 7 and %d orders", summary, len(Generate(7).Orders))
		}
	})

	t.Run("refuses the prod environment with exit code 1", func(t *testing.T) {
		t.Parallel()
		url := freshDatabase(t)
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"--database-url", url, "--environment", "prod"}, noEnv, &stdout, &stderr); code != 1 {
			t.Fatalf("exit code %d, want 1", code)
		}
		if !strings.Contains(stderr.String(), "production") {
			t.Errorf("stderr does not explain the refusal:\n%s", stderr.String())
		}
	})

	for name, args := range map[string][]string{
		"without --database-url": {"--environment", "dev"},
		"with a stray argument":  {"--database-url", "postgres://x", "extra"},
		"with an unknown flag":   {"--nope"},
	} {
		t.Run("exits 2 "+name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, noEnv, &stdout, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
			}
		})
	}
}
