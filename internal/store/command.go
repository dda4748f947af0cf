package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// commandMigrations create the table that makes comment commands happen once (core version 10).
func commandMigrations() []migration {
	return []migration{
		{version: 10, name: "comment command steps", sql: []string{
			`CREATE TABLE stagecoach_command_step (
				repo       TEXT NOT NULL,
				comment_id BIGINT NOT NULL,
				step       TEXT NOT NULL,
				state      TEXT NOT NULL,
				result     TEXT NOT NULL,
				updated_at BIGINT NOT NULL,
				PRIMARY KEY (repo, comment_id, step)
			)`,
			`CREATE INDEX stagecoach_command_step_updated_at ON stagecoach_command_step (updated_at)`,
		}},
	}
}

// The states of a command step.
const (
	// StepStarted: the step began and may or may not have taken effect (a crash or a failed call
	// came in between); whoever resumes it must find out.
	StepStarted = "started"
	// StepDone: the step took effect; it is never run again.
	StepDone = "done"
)

// CommandStep is what is recorded of one step of one comment command.
type CommandStep struct {
	// State is StepStarted or StepDone.
	State string
	// Result is what the step chose to remember (e.g. the reply it decided on); "" for none.
	Result string
	// UpdatedAt is when the state was last written.
	UpdatedAt time.Time
}

// CommandStep returns the record of step of the command in comment commentID of repo, or
// ErrNotFound when the step never started.
func (s *Store) CommandStep(ctx context.Context, repo string, commentID int64, step string) (CommandStep, error) {
	var st CommandStep
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT state, result, updated_at FROM stagecoach_command_step
		WHERE repo = $1 AND comment_id = $2 AND step = $3`, repo, commentID, step).Scan(&st.State, &st.Result, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("step %s of comment %d in %s: %w", step, commentID, repo, ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("reading step %s of comment %d in %s: %w", step, commentID, repo, err)
	}
	st.UpdatedAt = time.UnixMilli(at)
	return st, nil
}

// StartCommandStep records that step of the command in comment commentID of repo is starting. A
// step recorded done stays done.
func (s *Store) StartCommandStep(ctx context.Context, repo string, commentID int64, step string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_command_step (repo, comment_id, step, state, result, updated_at)
		VALUES ($1, $2, $3, $4, '', $5)
		ON CONFLICT (repo, comment_id, step) DO UPDATE SET updated_at = excluded.updated_at
		WHERE stagecoach_command_step.state <> $6`,
		repo, commentID, step, StepStarted, s.millis(), StepDone); err != nil {
		return fmt.Errorf("recording the start of step %s of comment %d in %s: %w", step, commentID, repo, err)
	}
	return nil
}

// FinishCommandStep records that step of the command in comment commentID of repo took effect,
// with the result to remember. A step already done keeps its first result.
func (s *Store) FinishCommandStep(ctx context.Context, repo string, commentID int64, step, result string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_command_step (repo, comment_id, step, state, result, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (repo, comment_id, step) DO UPDATE SET state = excluded.state, result = excluded.result,
			updated_at = excluded.updated_at
		WHERE stagecoach_command_step.state <> excluded.state`,
		repo, commentID, step, StepDone, result, s.millis()); err != nil {
		return fmt.Errorf("recording step %s of comment %d in %s: %w", step, commentID, repo, err)
	}
	return nil
}

// DeleteCommandStepsBefore deletes the step records last written before t and reports how many
// it deleted. A command older than GitHub's redelivery window (a few days) is never retried, so
// its records can go.
func (s *Store) DeleteCommandStepsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM stagecoach_command_step WHERE updated_at < $1`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("deleting old command steps: %w", err)
	}
	return res.RowsAffected()
}
