package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TryAcquire takes the lease key for holder until now+ttl when it is free, expired, or
// already held by holder (which renews it). It reports whether holder has it now. The
// check and the write are one statement, so two replicas can never both win.
func (s *Store) TryAcquire(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	now := s.leaseNow()
	res, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_lease (key, holder, expires_at)
		VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE stagecoach_lease.holder = excluded.holder OR stagecoach_lease.expires_at <= $4`,
		key, holder, now.Add(ttl).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("acquiring lease %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("acquiring lease %s: %w", key, err)
	}
	return n == 1, nil
}

// Release gives the lease up when holder has it; releasing a lease one does not hold is not an error.
func (s *Store) Release(ctx context.Context, key, holder string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM stagecoach_lease WHERE key = $1 AND holder = $2`, key, holder); err != nil {
		return fmt.Errorf("releasing lease %s: %w", key, err)
	}
	return nil
}

// Lease describes who holds a lease and until when.
type Lease struct {
	Key       string
	Holder    string
	ExpiresAt time.Time
}

// Leases lists the leases that have not expired, for the status page.
func (s *Store) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, holder, expires_at FROM stagecoach_lease
		WHERE expires_at > $1 ORDER BY key`, s.leaseNow().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("listing leases: %w", err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		var at int64
		if err := rows.Scan(&l.Key, &l.Holder, &at); err != nil {
			return nil, fmt.Errorf("listing leases: %w", err)
		}
		l.ExpiresAt = time.UnixMilli(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

// LeaseHolder reports who holds or last held key and whether that lease is still live; "" when
// the lease does not exist. An expired row stays until someone takes the lease again, so its holder
// name (a retry pause records the failures in a row there) can still be read.
func (s *Store) LeaseHolder(ctx context.Context, key string) (string, bool, error) {
	var holder string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT holder, expires_at FROM stagecoach_lease WHERE key = $1`, key).Scan(&holder, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading lease %s: %w", key, err)
	}
	return holder, at > s.leaseNow().UnixMilli(), nil
}
