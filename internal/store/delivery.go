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
	if _, err := s.db.ExecContext(ctx, `DELETE FROM stagecoach_delivery_step WHERE delivery_id IN
		(SELECT id FROM stagecoach_delivery WHERE received_at < $1)`, t.UnixMilli()); err != nil {
		return 0, fmt.Errorf("deleting old deliveries: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM stagecoach_delivery WHERE received_at < $1`, t.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("deleting old deliveries: %w", err)
	}
	return res.RowsAffected()
}

// DeliveryProgress is what has been done of one delivery.
type DeliveryProgress struct {
	// Steps are the processors that finished, by name.
	Steps map[string]bool
	// Done is set once every processor finished, or the bot gave up (Outcome says which).
	Done    bool
	Outcome string
}

// DeliveryProgress reads which processors of delivery id have finished.
func (s *Store) DeliveryProgress(ctx context.Context, id string) (DeliveryProgress, error) {
	p := DeliveryProgress{Steps: map[string]bool{}}
	var doneAt int64
	err := s.db.QueryRowContext(ctx, `SELECT done_at, outcome FROM stagecoach_delivery WHERE id = $1`, id).Scan(&doneAt, &p.Outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("reading the progress of delivery %s: %w", id, err)
	}
	p.Done = doneAt != 0
	rows, err := s.db.QueryContext(ctx, `SELECT step FROM stagecoach_delivery_step WHERE delivery_id = $1`, id)
	if err != nil {
		return p, fmt.Errorf("reading the progress of delivery %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var step string
		if err := rows.Scan(&step); err != nil {
			return p, fmt.Errorf("reading the progress of delivery %s: %w", id, err)
		}
		p.Steps[step] = true
	}
	return p, rows.Err()
}

// FinishDeliveryStep records that processor step of delivery id finished, so a retry skips it.
func (s *Store) FinishDeliveryStep(ctx context.Context, id, step string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_delivery_step (delivery_id, step, done_at) VALUES ($1, $2, $3)
		ON CONFLICT (delivery_id, step) DO NOTHING`, id, step, s.millis()); err != nil {
		return fmt.Errorf("recording step %s of delivery %s: %w", step, id, err)
	}
	return nil
}

// FinishDelivery marks delivery id done with outcome ("done", or why the bot gave up).
func (s *Store) FinishDelivery(ctx context.Context, id, outcome string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE stagecoach_delivery SET done_at = $1, outcome = $2 WHERE id = $3`,
		s.millis(), outcome, id); err != nil {
		return fmt.Errorf("finishing delivery %s: %w", id, err)
	}
	return nil
}

// OpenDeliveries lists deliveries received before t that are not done yet (without payloads),
// oldest first, at most limit.
func (s *Store) OpenDeliveries(ctx context.Context, before time.Time, limit int) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, event, action, installation_id, repo, received_at FROM stagecoach_delivery
		WHERE done_at = 0 AND received_at < $1 ORDER BY received_at LIMIT $2`, before.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing unfinished deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var at int64
		if err := rows.Scan(&d.ID, &d.Event, &d.Action, &d.InstallationID, &d.Repo, &at); err != nil {
			return nil, fmt.Errorf("listing unfinished deliveries: %w", err)
		}
		d.ReceivedAt = time.UnixMilli(at)
		out = append(out, d)
	}
	return out, rows.Err()
}
