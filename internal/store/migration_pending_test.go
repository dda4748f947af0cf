package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

func TestNoMigrate(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			o := e.NewOptions(t)
			if o.SQLitePath != "" {
				// A SQLite file must exist to be opened read-only; an empty one is a database without tables.
				if err := os.WriteFile(o.SQLitePath, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ro := o
			ro.NoMigrate = true
			s, err := store.Open(ctx, ro)
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.PendingMigrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if !p.Empty || p.River == 0 || len(p.Own) == 0 {
				t.Fatalf("a fresh database: pending = %+v, want everything", p)
			}
			if n := countTables(t, o); n != 0 {
				t.Fatalf("opening with NoMigrate created %d tables", n)
			}

			storetest.Open(t, o).Close() // migrates
			s, err = store.Open(ctx, ro)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			p, err = s.PendingMigrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.Count() != 0 || p.Empty {
				t.Fatalf("a migrated database: pending = %+v, want none", p)
			}
		})
	}

	for _, e := range storetest.Engines() {
		t.Run(e.Name+": a database behind or ahead of the binary", func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := storetest.Open(t, e.NewOptions(t))
			all := store.MigrationsForTest()
			last := all[len(all)-1]
			for _, stmt := range []string{
				fmt.Sprintf(`DELETE FROM stagecoach_migration WHERE version = %d`, last.Version),
				`INSERT INTO stagecoach_migration (version, name, applied_at) VALUES (9001, 'from a newer stagecoach', 0)`,
				`INSERT INTO river_migration (line, version) VALUES ('main', 9002)`,
			} {
				if _, err := s.DB().ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			p, err := s.PendingMigrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("%d %s", last.Version, last.Name)
			if len(p.Own) != 1 || p.Own[0] != want || p.River != 0 {
				t.Errorf("pending = %q and %d of River's, want only %q", p.Own, p.River, want)
			}
			if got := strings.Join(p.Newer, "; "); got != "9001 from a newer stagecoach; River 9002" {
				t.Errorf("newer = %q, want stagecoach's 9001 and River's 9002", got)
			}
		})
	}

	t.Run("a SQLite file that does not exist is not created", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "sub", "stagecoach.db")
		_, err := store.Open(context.Background(), store.Options{SQLitePath: path, NoMigrate: true})
		if !errors.Is(err, store.ErrNoDatabase) {
			t.Fatalf("err = %v, want ErrNoDatabase", err)
		}
		if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the directory was created: %v", err)
		}
	})
}

// countTables opens o without migrating and counts its tables.
func countTables(t *testing.T, o store.Options) int {
	t.Helper()
	o.NoMigrate = true
	s, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, err := s.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(names)
}
