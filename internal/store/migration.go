package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// migration is one step of stagecoach's own schema. The SQL is portable between
// SQLite and Postgres: TEXT, BIGINT (times are Unix milliseconds) and BOOLEAN only.
type migration struct {
	version int
	name    string
	sql     []string
}

// migrations are applied in version order and never edited once released. Each feature
// keeps its tables' migrations beside its store code, in its own range of versions:
// core 1–99, ephemeral environments 100–199, promotions 200–299.
func migrations() []migration {
	all := append(coreMigrations(), ephemeralMigrations()...)
	all = append(all, promotionMigrations()...)
	all = append(all, commandMigrations()...)
	slices.SortFunc(all, func(a, b migration) int { return a.version - b.version })
	return all
}

func coreMigrations() []migration {
	return []migration{
		{version: 1, name: "deliveries, leases and operation logs", sql: []string{
			`CREATE TABLE stagecoach_delivery (
				id              TEXT PRIMARY KEY,
				event           TEXT NOT NULL,
				action          TEXT NOT NULL,
				installation_id BIGINT NOT NULL,
				repo            TEXT NOT NULL,
				payload         TEXT NOT NULL,
				received_at     BIGINT NOT NULL
			)`,
			`CREATE INDEX stagecoach_delivery_received_at ON stagecoach_delivery (received_at)`,
			`CREATE TABLE stagecoach_lease (
				key        TEXT PRIMARY KEY,
				holder     TEXT NOT NULL,
				expires_at BIGINT NOT NULL
			)`,
			`CREATE TABLE stagecoach_operation_log (
				id          TEXT PRIMARY KEY,
				stack       TEXT NOT NULL,
				kind        TEXT NOT NULL,
				text        TEXT NOT NULL,
				started_at  BIGINT NOT NULL,
				finished_at BIGINT NOT NULL,
				succeeded   BOOLEAN NOT NULL
			)`,
			`CREATE INDEX stagecoach_operation_log_stack ON stagecoach_operation_log (stack, started_at)`,
		}},
		{version: 4, name: "deliveries: completion of each processor", sql: []string{
			`ALTER TABLE stagecoach_delivery ADD COLUMN done_at BIGINT NOT NULL DEFAULT 0`,
			`ALTER TABLE stagecoach_delivery ADD COLUMN outcome TEXT NOT NULL DEFAULT ''`,
			// Deliveries stored before this version were processed by the jobs of that time.
			`UPDATE stagecoach_delivery SET done_at = received_at, outcome = 'done'`,
			`CREATE INDEX stagecoach_delivery_open ON stagecoach_delivery (done_at, received_at)`,
			`CREATE TABLE stagecoach_delivery_step (
				delivery_id TEXT NOT NULL,
				step        TEXT NOT NULL,
				done_at     BIGINT NOT NULL,
				PRIMARY KEY (delivery_id, step)
			)`,
		}},
		{version: 2, name: "sleep schedules: overrides and applied states", sql: []string{
			`CREATE TABLE stagecoach_sleep_override (
				repo        TEXT NOT NULL,
				environment TEXT NOT NULL,
				state       TEXT NOT NULL,
				until_at    BIGINT NOT NULL,
				set_by      TEXT NOT NULL,
				set_at      BIGINT NOT NULL,
				PRIMARY KEY (repo, environment)
			)`,
			`CREATE TABLE stagecoach_sleep_state (
				repo           TEXT NOT NULL,
				environment    TEXT NOT NULL,
				stack          TEXT NOT NULL,
				state          TEXT NOT NULL,
				previous_value TEXT NOT NULL,
				had_value      BOOLEAN NOT NULL,
				changed_at     BIGINT NOT NULL,
				PRIMARY KEY (repo, environment, stack)
			)`,
		}},
		{version: 3, name: "repositories and bot-set stack config", sql: []string{
			`CREATE TABLE stagecoach_repository (
				repo            TEXT PRIMARY KEY,
				installation_id BIGINT NOT NULL,
				seen_at         BIGINT NOT NULL
			)`,
			`CREATE TABLE stagecoach_stack_config (
				repo       TEXT NOT NULL,
				stack      TEXT NOT NULL,
				key        TEXT NOT NULL,
				value      TEXT NOT NULL,
				updated_at BIGINT NOT NULL,
				PRIMARY KEY (repo, stack, key)
			)`,
		}},
	}
}

// migrateOwn applies stagecoach's migrations that have not run yet, each in its own
// transaction together with its version row, so a crash leaves no half-applied step.
func (s *Store) migrateOwn(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS stagecoach_migration (
		version    BIGINT PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrating: creating the migration table: %w", err)
	}
	for _, m := range migrations() {
		if err := s.applyMigration(ctx, m); err != nil {
			return fmt.Errorf("migrating to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func (s *Store) applyMigration(ctx context.Context, m migration) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM stagecoach_migration WHERE version = $1`, m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range m.sql {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO stagecoach_migration (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, s.millis()); err != nil {
		return err
	}
	s.logger.Info("applied migration", "version", m.version, "name", m.name)
	return tx.Commit()
}

// Pending is what Open would migrate: stagecoach's migrations and River's not applied yet.
type Pending struct {
	// Own names stagecoach's pending migrations ("3 repositories and bot-set stack config"), in order.
	Own []string
	// River counts River's pending migrations.
	River int
	// Empty is true when the database has none of stagecoach's or River's tables yet.
	Empty bool
	// Newer names migrations the database has and this binary does not know ("301 …" for
	// stagecoach's, "River 7" for River's), in order: a newer stagecoach ran against it, as after a
	// rollback of the binary.
	Newer []string
}

// Count is the number of pending migrations.
func (p Pending) Count() int { return len(p.Own) + p.River }

// PendingMigrations reports which migrations Open would apply, and which the database has that this
// binary does not know, without changing anything.
func (s *Store) PendingMigrations(ctx context.Context) (Pending, error) {
	var p Pending
	riverAll, err := s.riverMigrations()
	if err != nil {
		return p, fmt.Errorf("reading River's migrations: %w", err)
	}
	// Read directly: River's own reader fails on a version it does not know.
	riverApplied, err := s.appliedVersions(ctx, "river_migration", `SELECT version, '' FROM river_migration WHERE line = 'main'`)
	if err != nil {
		return p, fmt.Errorf("reading River's migrations: %w", err)
	}
	ownApplied, err := s.appliedVersions(ctx, "stagecoach_migration", `SELECT version, name FROM stagecoach_migration`)
	if err != nil {
		return p, fmt.Errorf("reading stagecoach's migrations: %w", err)
	}
	ours := map[int]bool{}
	for _, m := range migrations() {
		ours[m.version] = true
		if _, ok := ownApplied[m.version]; !ok {
			p.Own = append(p.Own, fmt.Sprintf("%d %s", m.version, m.name))
		}
	}
	for _, v := range riverAll {
		if _, ok := riverApplied[v]; !ok {
			p.River++
		}
	}
	for _, v := range slices.Sorted(maps.Keys(ownApplied)) {
		if !ours[v] {
			p.Newer = append(p.Newer, fmt.Sprintf("%d %s", v, ownApplied[v]))
		}
	}
	for _, v := range slices.Sorted(maps.Keys(riverApplied)) {
		if !slices.Contains(riverAll, v) {
			p.Newer = append(p.Newer, fmt.Sprintf("River %d", v))
		}
	}
	p.Empty = ownApplied == nil && len(riverApplied) == 0
	return p, nil
}

// riverMigrations lists the versions of River's migrations this binary has.
func (s *Store) riverMigrations() ([]int, error) {
	var all []rivermigrate.Migration
	if s.dialect == Postgres {
		m, err := rivermigrate.New(riverpgxv5.New(s.pool), &rivermigrate.Config{Logger: s.logger})
		if err != nil {
			return nil, err
		}
		all = m.AllVersions()
	} else {
		m, err := rivermigrate.New(riversqlite.New(s.db), &rivermigrate.Config{Logger: s.logger})
		if err != nil {
			return nil, err
		}
		all = m.AllVersions()
	}
	versions := make([]int, len(all))
	for i, m := range all {
		versions[i] = m.Version
	}
	return versions, nil
}

// appliedVersions runs query, which selects a version and a name, when table exists: nil when it
// does not, else each version's name.
func (s *Store) appliedVersions(ctx context.Context, table, query string) (map[int]string, error) {
	exists, err := s.tableExists(ctx, table)
	if err != nil || !exists {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]string{}
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return nil, err
		}
		applied[v] = name
	}
	return applied, rows.Err()
}

// tableExists reports whether table exists in the store's schema (Postgres: the first of the
// search_path that exists).
func (s *Store) tableExists(ctx context.Context, table string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if s.dialect == Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q, table).Scan(&n); err != nil {
		return false, fmt.Errorf("looking for table %s: %w", table, err)
	}
	return n > 0, nil
}

// Tables lists the tables of the store's schema (Postgres: current_schema()), for checks and tests.
func (s *Store) Tables(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if s.dialect == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("listing tables: %w", err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}
