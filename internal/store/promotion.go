package store

// promotionMigrations create the tables of promotions (versions 200–299).
func promotionMigrations() []migration { return nil }
