package store

// MigrationInfo names one migration, for tests.
type MigrationInfo struct {
	Version int
	Name    string
}

// MigrationsForTest lists the migrations in order.
func MigrationsForTest() []MigrationInfo {
	var out []MigrationInfo
	for _, m := range migrations() {
		out = append(out, MigrationInfo{m.version, m.name})
	}
	return out
}

// IsUniqueViolation exposes isUniqueViolation to tests.
var IsUniqueViolation = isUniqueViolation
