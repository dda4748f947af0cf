package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SleepOverride pins an environment awake or asleep until a time (`/wake`, `/sleep`).
type SleepOverride struct {
	Repo        string
	Environment string
	// State is "awake" or "asleep".
	State string
	Until time.Time
	// SetBy is the GitHub login that asked for it.
	SetBy string
	SetAt time.Time
}

// SetSleepOverride records o, replacing any override of that environment.
func (s *Store) SetSleepOverride(ctx context.Context, o SleepOverride) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_sleep_override (repo, environment, state, until_at, set_by, set_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (repo, environment) DO UPDATE SET state = excluded.state, until_at = excluded.until_at,
			set_by = excluded.set_by, set_at = excluded.set_at`,
		o.Repo, o.Environment, o.State, o.Until.UnixMilli(), o.SetBy, o.SetAt.UnixMilli()); err != nil {
		return fmt.Errorf("recording the %s override of %s in %s: %w", o.State, o.Environment, o.Repo, err)
	}
	return nil
}

// SleepOverrides returns the overrides of repo by environment, expired ones included
// (callers compare Until with their clock).
func (s *Store) SleepOverrides(ctx context.Context, repo string) (map[string]SleepOverride, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT repo, environment, state, until_at, set_by, set_at
		FROM stagecoach_sleep_override WHERE repo = $1`, repo)
	if err != nil {
		return nil, fmt.Errorf("reading the overrides of %s: %w", repo, err)
	}
	defer rows.Close()
	out := map[string]SleepOverride{}
	for rows.Next() {
		var o SleepOverride
		var until, at int64
		if err := rows.Scan(&o.Repo, &o.Environment, &o.State, &until, &o.SetBy, &at); err != nil {
			return nil, fmt.Errorf("reading the overrides of %s: %w", repo, err)
		}
		o.Until, o.SetAt = time.UnixMilli(until), time.UnixMilli(at)
		out[o.Environment] = o
	}
	return out, rows.Err()
}

// SleepState is the state the scheduler last applied to one stack, and the value its config
// key had before the first sleep, so waking restores exactly what was there.
type SleepState struct {
	Repo        string
	Environment string
	Stack       string
	// State is "awake" or "asleep".
	State string
	// PreviousValue is the config key's value before the environment was put to sleep;
	// HadValue is false when the key was unset then.
	PreviousValue string
	HadValue      bool
	ChangedAt     time.Time
}

// SleepState returns the recorded state of a stack, or ErrNotFound when the scheduler never
// changed it.
func (s *Store) SleepState(ctx context.Context, repo, env, stack string) (SleepState, error) {
	st := SleepState{Repo: repo, Environment: env, Stack: stack}
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT state, previous_value, had_value, changed_at FROM stagecoach_sleep_state
		WHERE repo = $1 AND environment = $2 AND stack = $3`, repo, env, stack).Scan(&st.State, &st.PreviousValue, &st.HadValue, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("sleep state of %s in %s: %w", stack, repo, ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("reading the sleep state of %s in %s: %w", stack, repo, err)
	}
	st.ChangedAt = time.UnixMilli(at)
	return st, nil
}

// SetSleepState records the state applied to a stack.
func (s *Store) SetSleepState(ctx context.Context, st SleepState) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_sleep_state
		(repo, environment, stack, state, previous_value, had_value, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (repo, environment, stack) DO UPDATE SET state = excluded.state, previous_value = excluded.previous_value,
			had_value = excluded.had_value, changed_at = excluded.changed_at`,
		st.Repo, st.Environment, st.Stack, st.State, st.PreviousValue, st.HadValue, st.ChangedAt.UnixMilli()); err != nil {
		return fmt.Errorf("recording the sleep state of %s in %s: %w", st.Stack, st.Repo, err)
	}
	return nil
}
