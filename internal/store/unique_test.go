package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// TestIsUniqueViolation: a duplicate key is recognised by the engine's typed error, wrapped or
// not; other constraint errors and errors that merely read like one are not.
func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	t.Run("text that reads like a unique violation is not one", func(t *testing.T) {
		t.Parallel()
		for _, msg := range []string{"UNIQUE constraint failed: t.name", "ERROR: duplicate key (SQLSTATE 23505)"} {
			if store.IsUniqueViolation(errors.New(msg)) {
				t.Errorf("%q counted as a unique violation", msg)
			}
		}
	})
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, e.NewOptions(t)).DB()
			if _, err := db.ExecContext(ctx, `CREATE TABLE uniq (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER CHECK (n > 0))`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO uniq (id, name, n) VALUES (1, 'a', 1)`); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name, sql string
				want      bool
			}{
				{"a duplicate primary key is one", `INSERT INTO uniq (id, name, n) VALUES (1, 'b', 1)`, true},
				{"a duplicate unique column is one", `INSERT INTO uniq (id, name, n) VALUES (2, 'a', 1)`, true},
				{"a check violation is not one", `INSERT INTO uniq (id, name, n) VALUES (3, 'c', 0)`, false},
				{"a syntax error is not one", `INSERT INTO uniq VALUES (`, false},
			} {
				_, err := db.ExecContext(ctx, c.sql)
				if err == nil {
					t.Fatalf("%s: the statement succeeded", c.name)
				}
				if got := store.IsUniqueViolation(err); got != c.want {
					t.Errorf("%s: IsUniqueViolation(%v) = %v", c.name, err, got)
				}
				if got := store.IsUniqueViolation(fmt.Errorf("claiming: %w", err)); got != c.want {
					t.Errorf("%s, wrapped: IsUniqueViolation = %v", c.name, got)
				}
			}
		})
	}
}
