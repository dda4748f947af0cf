package store

// ephemeralMigrations create the tables of PR environments (versions 100–199).
func ephemeralMigrations() []migration { return nil }
