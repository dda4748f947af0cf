package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
