package main

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed schema.sql
var schemaSQL string

// ErrProductionDatabase is returned, before anything is written, when the
// target database or environment is marked production.
var ErrProductionDatabase = errors.New("refusing to seed a production database")

// productionMarker is the word that marks a database as production when it
// appears, in any case, in the database's comment (COMMENT ON DATABASE).
const productionMarker = "production"

// seedLockKey is the advisory lock that serialises concurrent seed runs
// against one database.
const seedLockKey int64 = 0x5eed_0001

// SchemaVersion identifies schema.sql: the first 16 hex digits of its SHA-256.
// The infra program computes the same value from the same file to decide when
// the seed job must run again.
func SchemaVersion() string {
	sum := sha256.Sum256([]byte(schemaSQL))
	return hex.EncodeToString(sum[:])[:16]
}

// Seeder applies the sample schema and loads the deterministic dataset.
type Seeder struct {
	// Seed is the random seed of the dataset. Default (zero): DefaultSeed.
	Seed uint64
	// Environment names the target environment; "prod" and "production" are
	// refused. Required.
	Environment string
	// Logger receives progress. Required.
	Logger *slog.Logger
}

// Summary reports what one seed run left in the database.
type Summary struct {
	// SchemaVersion is the version of the applied schema.sql.
	SchemaVersion string `json:"schemaVersion"`
	// Seed is the random seed the data came from.
	Seed uint64 `json:"seed"`
	// Environment is the environment the run was for.
	Environment string `json:"environment"`
	// Rows is the number of seeded rows per table.
	Rows map[string]int `json:"rows"`
}

// Run seeds the database behind conn in one transaction: it refuses a
// production database, applies schema.sql, and upserts every row of the
// dataset, so running it again leaves the same rows with the same content.
// Rows that the seed does not own (other ids) are left alone.
func (s Seeder) Run(ctx context.Context, conn *pgx.Conn) (Summary, error) {
	if err := checkEnvironment(s.Environment); err != nil {
		return Summary{}, err
	}
	seed := s.Seed
	if seed == 0 {
		seed = DefaultSeed
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("starting seed transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", seedLockKey); err != nil {
		return Summary{}, fmt.Errorf("taking the seed lock: %w", err)
	}
	if err := checkDatabase(ctx, tx); err != nil {
		return Summary{}, err
	}
	if _, err := tx.Exec(ctx, schemaSQL); err != nil {
		return Summary{}, fmt.Errorf("applying the sample schema: %w", err)
	}

	data := Generate(seed)
	summary := Summary{SchemaVersion: SchemaVersion(), Seed: seed, Environment: s.Environment, Rows: map[string]int{}}
	for _, t := range tablesOf(data) {
		if err := upsert(ctx, tx, t); err != nil {
			return Summary{}, err
		}
		summary.Rows[t.name] = len(t.rows)
		s.Logger.Info("seeded table", "table", "sample."+t.name, "rows", len(t.rows))
	}

	info := [][2]string{{"schema_version", summary.SchemaVersion}, {"seed", strconv.FormatUint(seed, 10)}}
	for _, kv := range info {
		if _, err := tx.Exec(ctx, `INSERT INTO sample.seed_info (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE sample.seed_info.value <> excluded.value`, kv[0], kv[1]); err != nil {
			return Summary{}, fmt.Errorf("recording seed info: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return Summary{}, fmt.Errorf("committing seed transaction: %w", err)
	}
	return summary, nil
}

// checkEnvironment refuses an empty or production environment name.
func checkEnvironment(env string) error {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "":
		return errors.New("the target environment is required (--environment)")
	case "prod", "production":
		return fmt.Errorf("environment %q: %w", env, ErrProductionDatabase)
	}
	return nil
}

// checkDatabase refuses a database whose comment contains the production marker.
func checkDatabase(ctx context.Context, tx pgx.Tx) error {
	var name, comment string
	err := tx.QueryRow(ctx, `SELECT current_database(), coalesce(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE datname = current_database()`).Scan(&name, &comment)
	if err != nil {
		return fmt.Errorf("reading the database comment: %w", err)
	}
	if strings.Contains(strings.ToLower(comment), productionMarker) {
		return fmt.Errorf("database %q has comment %q: %w", name, comment, ErrProductionDatabase)
	}
	return nil
}

// table is one seeded table: its columns, primary key and rows.
type table struct {
	name    string
	columns []string
	key     []string
	rows    [][]any
}

// tablesOf lays the dataset out as tables, parents before children.
func tablesOf(d Dataset) []table {
	customers := table{name: "customers", columns: []string{"id", "name", "email", "city", "created_at"}, key: []string{"id"}}
	for _, c := range d.Customers {
		customers.rows = append(customers.rows, []any{c.ID, c.Name, c.Email, c.City, c.CreatedAt})
	}
	products := table{name: "products", columns: []string{"id", "sku", "name", "category", "price_cents"}, key: []string{"id"}}
	for _, p := range d.Products {
		products.rows = append(products.rows, []any{p.ID, p.SKU, p.Name, p.Category, p.PriceCents})
	}
	orders := table{name: "orders", columns: []string{"id", "customer_id", "status", "placed_at"}, key: []string{"id"}}
	for _, o := range d.Orders {
		orders.rows = append(orders.rows, []any{o.ID, o.CustomerID, o.Status, o.PlacedAt})
	}
	items := table{
		name:    "order_items",
		columns: []string{"order_id", "line", "product_id", "quantity", "unit_price_cents"},
		key:     []string{"order_id", "line"},
	}
	for _, i := range d.OrderItems {
		items.rows = append(items.rows, []any{i.OrderID, i.Line, i.ProductID, i.Quantity, i.UnitPriceCents})
	}
	return []table{customers, products, orders, items}
}

// upsert copies t's rows into a transaction-scoped staging table and merges
// them into sample.<name>: missing rows are inserted, rows whose content
// differs are restored, identical rows are not touched.
func upsert(ctx context.Context, tx pgx.Tx, t table) error {
	staging := "seed_" + t.name
	if _, err := tx.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE %s (LIKE sample.%s) ON COMMIT DROP", staging, t.name)); err != nil {
		return fmt.Errorf("creating staging table for %s: %w", t.name, err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{staging}, t.columns, pgx.CopyFromRows(t.rows)); err != nil {
		return fmt.Errorf("copying %s rows: %w", t.name, err)
	}

	var values []string
	var assignments, current, incoming []string
	for _, c := range t.columns {
		values = append(values, c)
		if slices.Contains(t.key, c) {
			continue
		}
		assignments = append(assignments, fmt.Sprintf("%s = excluded.%s", c, c))
		current = append(current, "t."+c)
		incoming = append(incoming, "excluded."+c)
	}
	cols := strings.Join(values, ", ")
	merge := fmt.Sprintf(`INSERT INTO sample.%s AS t (%s) SELECT %s FROM %s
		ON CONFLICT (%s) DO UPDATE SET %s WHERE (%s) IS DISTINCT FROM (%s)`,
		t.name, cols, cols, staging,
		strings.Join(t.key, ", "), strings.Join(assignments, ", "),
		strings.Join(current, ", "), strings.Join(incoming, ", "))
	if _, err := tx.Exec(ctx, merge); err != nil {
		return fmt.Errorf("merging %s rows: %w", t.name, err)
	}
	return nil
}
