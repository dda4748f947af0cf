package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Delivery is one webhook delivery the bot acts on, kept so the job that processes
// it can read the payload and so a redelivery is recognised.
type Delivery struct {
	// ID is GitHub's X-GitHub-Delivery, the idempotency key.
	ID string
	// Event is X-GitHub-Event, e.g. "pull_request".
	Event string
	// Action is the payload's action, or "" for events without one (push).
	Action string
	// InstallationID is the App installation the event came through.
	InstallationID int64
	// Repo is "owner/name".
	Repo string
	// Payload is the raw JSON body.
	Payload []byte
	// ReceivedAt is when the bot stored it.
	ReceivedAt time.Time
}

// InsertDeliveryTx records d inside tx. It reports false, and changes nothing, when a
// delivery with the same ID was recorded before (a redelivery), on any replica.
func (s *Store) InsertDeliveryTx(ctx context.Context, tx *sql.Tx, d Delivery) (bool, error) {
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = s.now()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO stagecoach_delivery
		(id, event, action, installation_id, repo, payload, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Event, d.Action, d.InstallationID, d.Repo, string(d.Payload), d.ReceivedAt.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("recording delivery %s: %w", d.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording delivery %s: %w", d.ID, err)
	}
	return n == 1, nil
}

// Delivery returns the stored delivery with id, or ErrNotFound.
func (s *Store) Delivery(ctx context.Context, id string) (Delivery, error) {
	var d Delivery
	var payload string
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT id, event, action, installation_id, repo, payload, received_at
		FROM stagecoach_delivery WHERE id = $1`, id).
		Scan(&d.ID, &d.Event, &d.Action, &d.InstallationID, &d.Repo, &payload, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("reading delivery %s: %w", id, err)
	}
	d.Payload, d.ReceivedAt = []byte(payload), time.UnixMilli(at)
	return d, nil
}

// DeleteDeliveriesBefore removes deliveries received before t and reports how many.
// A redelivery of a removed delivery is processed again, so keep them longer than
// GitHub offers redelivery.
func (s *Store) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM stagecoach_delivery WHERE received_at < $1`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("deleting old deliveries: %w", err)
	}
	return res.RowsAffected()
}
