package store

import (
	"context"
	"fmt"
	"time"
)

// Repository is a repository the bot has received events for, and the installation it came through.
type Repository struct {
	Repo           string
	InstallationID int64
	SeenAt         time.Time
}

// TouchRepository records that repo was seen through installation (on every delivery), so
// periodic work such as schedules knows which repositories to look at.
func (s *Store) TouchRepository(ctx context.Context, repo string, installation int64) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_repository (repo, installation_id, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (repo) DO UPDATE SET installation_id = excluded.installation_id, seen_at = excluded.seen_at`,
		repo, installation, s.millis()); err != nil {
		return fmt.Errorf("recording repository %s: %w", repo, err)
	}
	return nil
}

// Repositories lists the repositories seen, by name.
func (s *Store) Repositories(ctx context.Context) ([]Repository, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT repo, installation_id, seen_at FROM stagecoach_repository ORDER BY repo`)
	if err != nil {
		return nil, fmt.Errorf("listing repositories: %w", err)
	}
	defer rows.Close()
	var out []Repository
	for rows.Next() {
		var r Repository
		var at int64
		if err := rows.Scan(&r.Repo, &r.InstallationID, &at); err != nil {
			return nil, fmt.Errorf("listing repositories: %w", err)
		}
		r.SeenAt = time.UnixMilli(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// StackConfig returns the config keys the bot itself sets on a stack (stagecoach:pr,
// stagecoach:slot, stagecoach:sleeping…). Every operation runs in a fresh workspace, so every
// deploy of the stack, by any feature, passes these along with its own values.
func (s *Store) StackConfig(ctx context.Context, repo, stack string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM stagecoach_stack_config WHERE repo = $1 AND stack = $2`, repo, stack)
	if err != nil {
		return nil, fmt.Errorf("reading the bot's config of %s in %s: %w", stack, repo, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("reading the bot's config of %s in %s: %w", stack, repo, err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SetStackConfig sets bot-owned config keys of a stack; an empty value removes the key.
func (s *Store) SetStackConfig(ctx context.Context, repo, stack string, values map[string]string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("setting the bot's config of %s in %s: %w", stack, repo, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	for k, v := range values {
		if v == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM stagecoach_stack_config WHERE repo = $1 AND stack = $2 AND key = $3`, repo, stack, k)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO stagecoach_stack_config (repo, stack, key, value, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (repo, stack, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				repo, stack, k, v, s.millis())
		}
		if err != nil {
			return fmt.Errorf("setting %s of %s in %s: %w", k, stack, repo, err)
		}
	}
	return tx.Commit()
}

// DeleteStackConfig forgets every bot-owned key of a stack, after the stack is removed.
func (s *Store) DeleteStackConfig(ctx context.Context, repo, stack string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM stagecoach_stack_config WHERE repo = $1 AND stack = $2`, repo, stack); err != nil {
		return fmt.Errorf("forgetting the bot's config of %s in %s: %w", stack, repo, err)
	}
	return nil
}
