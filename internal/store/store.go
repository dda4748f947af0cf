// Package store is stagecoach's state database: SQLite by default (no setup, one
// file under the data directory) or Postgres when several replicas share state.
// The same SQL runs on both; River's tables live beside ours, and both sets of
// migrations run at Open, serialised across replicas.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the database engine behind a Store.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// Options configures Open.
type Options struct {
	// DatabaseURL is "postgres://…" for Postgres, or "sqlite:///path" or "" for SQLite.
	DatabaseURL string
	// SQLitePath is the database file used when DatabaseURL is empty. Required then.
	SQLitePath string
	// Schema, for Postgres only, is the schema all tables live in (created when missing).
	// Default "" uses the connection's search_path (normally public). Tests use one schema each.
	Schema string
	// Logger receives migration messages. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// LeaseNow is the clock of lease expiry: leases keep crashed holders from blocking work, which is
	// a matter of real time even where business time (Now) is simulated. Default Now.
	LeaseNow func() time.Time
	// NoMigrate opens without applying River's or stagecoach's migrations and without creating
	// anything (no SQLite file, no Postgres schema), for read-only commands such as `bot doctor`;
	// PendingMigrations reports what `bot serve` would apply. A SQLite file that does not exist
	// yet is ErrNoDatabase. Default false: Open migrates.
	NoMigrate bool
}

// ErrNoDatabase is returned by Open with NoMigrate when the database does not exist yet.
var ErrNoDatabase = errors.New("database does not exist yet")

// Store is the state database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	pool    *pgxpool.Pool // Postgres only
	dialect Dialect
	// sqlitePath is the database file on SQLite.
	sqlitePath string
	now        func() time.Time
	leaseNow   func() time.Time
	logger     *slog.Logger
}

// Open connects to the database, then runs River's migrations and stagecoach's. Two
// replicas opening one Postgres at once are serialised by an advisory lock.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LeaseNow == nil {
		o.LeaseNow = o.Now
	}
	s := &Store{now: o.Now, leaseNow: o.LeaseNow, logger: o.Logger}
	var err error
	switch u := o.DatabaseURL; {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		s.dialect = Postgres
		err = s.openPostgres(ctx, u, o.Schema, !o.NoMigrate)
	case u == "", strings.HasPrefix(u, "sqlite://"):
		s.dialect = SQLite
		path := o.SQLitePath
		if u != "" {
			path = strings.TrimPrefix(u, "sqlite://")
		}
		err = s.openSQLite(ctx, path, !o.NoMigrate)
	default:
		return nil, fmt.Errorf("opening store: database URL must start with postgres:// or sqlite://")
	}
	if err != nil {
		return nil, err
	}
	if o.NoMigrate {
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) openSQLite(ctx context.Context, path string, create bool) error {
	if path == "" {
		return errors.New("opening store: no SQLite path")
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("opening store: creating %s: %w", filepath.Dir(path), err)
		}
	} else {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("SQLite database %s: %w; `bot serve` creates it", path, ErrNoDatabase)
		} else if err != nil {
			return fmt.Errorf("opening SQLite database %s: %w", path, err)
		}
		// No journal-mode change: that would write to the file.
		dsn = "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	// SQLite runs one writer at a time; River's SQLite driver wants exactly one
	// connection or it answers SQLITE_BUSY under parallel access.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	s.db, s.sqlitePath = db, path
	if create {
		// Only the bot reads its database, never a Pulumi program run as another user (see SECURITY.md).
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
				db.Close()
				return fmt.Errorf("opening SQLite database: making %s private: %w", f, err)
			}
		}
	}
	return nil
}

func (s *Store) openPostgres(ctx context.Context, dsn, schema string, create bool) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parsing Postgres URL %s: %w", redact(dsn), err)
	}
	if schema != "" {
		if create {
			if err := createSchema(ctx, cfg.ConnConfig, schema); err != nil {
				return err
			}
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connecting to Postgres %s: %w", redact(dsn), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("connecting to Postgres %s: %w", redact(dsn), err)
	}
	s.pool = pool
	s.db = stdlib.OpenDBFromPool(pool)
	return nil
}

func createSchema(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("connecting to Postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		// Two replicas creating the schema at once can race on the catalog; the schema exists either way.
		var exists bool
		if qerr := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); qerr != nil || !exists {
			return fmt.Errorf("creating schema %s: %w", schema, err)
		}
	}
	return nil
}

// migrationLockKey is the Postgres advisory lock key that serialises migrations ("stgcoach").
const migrationLockKey = 0x737467636f616368

func (s *Store) migrate(ctx context.Context) error {
	if s.dialect == Postgres {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("migrating: %w", err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
			return fmt.Errorf("migrating: taking the migration lock: %w", err)
		}
		defer func() {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLockKey))
		}()
		m, err := rivermigrate.New(riverpgxv5.New(s.pool), &rivermigrate.Config{Logger: s.logger})
		if err != nil {
			return fmt.Errorf("migrating River: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("migrating River: %w", err)
		}
	} else {
		// Two processes may open one SQLite file at once (`bot doctor` beside `serve`):
		// a file lock next to the database serialises their migrations.
		lock := flock.New(s.sqlitePath + ".migrate.lock")
		if err := lock.Lock(); err != nil {
			return fmt.Errorf("migrating: taking the migration lock: %w", err)
		}
		defer func() { _ = lock.Unlock() }() // closing the file releases it too
		m, err := rivermigrate.New(riversqlite.New(s.db), &rivermigrate.Config{Logger: s.logger})
		if err != nil {
			return fmt.Errorf("migrating River: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("migrating River: %w", err)
		}
	}
	return s.migrateOwn(ctx)
}

// DB is the database/sql handle, for River's insert client and transactions.
func (s *Store) DB() *sql.DB { return s.db }

// Pool is the pgx pool on Postgres (River's worker driver wants it); nil on SQLite.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Dialect reports the engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("pinging %s: %w", s.dialect, err)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

func (s *Store) millis() int64 { return s.now().UnixMilli() }

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
