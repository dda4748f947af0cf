package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// OperationLog is the full text of one Pulumi operation, ANSI stripped and secrets
// masked by the engine before it gets here.
type OperationLog struct {
	ID        string
	Stack     string
	Kind      string
	Text      string
	Started   time.Time
	Finished  time.Time
	Succeeded bool
}

// SaveLog stores l under a new id and returns it.
func (s *Store) SaveLog(ctx context.Context, l OperationLog) (string, error) {
	id, err := newID()
	if err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_operation_log
		(id, stack, kind, text, started_at, finished_at, succeeded) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, l.Stack, l.Kind, l.Text, l.Started.UnixMilli(), l.Finished.UnixMilli(), l.Succeeded); err != nil {
		return "", fmt.Errorf("saving the log of %s on %s: %w", l.Kind, l.Stack, err)
	}
	return id, nil
}

// Log returns the stored log with id, or ErrNotFound.
func (s *Store) Log(ctx context.Context, id string) (OperationLog, error) {
	var l OperationLog
	var started, finished int64
	err := s.db.QueryRowContext(ctx, `SELECT id, stack, kind, text, started_at, finished_at, succeeded
		FROM stagecoach_operation_log WHERE id = $1`, id).
		Scan(&l.ID, &l.Stack, &l.Kind, &l.Text, &started, &finished, &l.Succeeded)
	if errors.Is(err, sql.ErrNoRows) {
		return OperationLog{}, fmt.Errorf("log %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return OperationLog{}, fmt.Errorf("reading log %s: %w", id, err)
	}
	l.Started, l.Finished = time.UnixMilli(started), time.UnixMilli(finished)
	return l, nil
}

func newID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making an id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// DeleteLogsBefore removes operation logs of operations that finished before t and reports how
// many. Links to them in old comments then answer 404.
func (s *Store) DeleteLogsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM stagecoach_operation_log WHERE finished_at < $1`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("deleting old operation logs: %w", err)
	}
	return res.RowsAffected()
}
