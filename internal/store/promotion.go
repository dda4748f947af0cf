package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// promotionMigrations create the tables of promotions (versions 200–299).
func promotionMigrations() []migration {
	return []migration{
		{version: 200, name: "promotions and approvals", sql: []string{
			`CREATE TABLE stagecoach_promotion (
				id              TEXT PRIMARY KEY,
				repo            TEXT NOT NULL,
				installation_id BIGINT NOT NULL,
				environment     TEXT NOT NULL,
				stack           TEXT NOT NULL,
				sha             TEXT NOT NULL,
				replaced_sha    TEXT NOT NULL,
				parent_sha      TEXT NOT NULL,
				trigger_kind    TEXT NOT NULL,
				requester       TEXT NOT NULL,
				approvers       TEXT NOT NULL,
				pr              BIGINT NOT NULL,
				target          TEXT NOT NULL,
				is_rollback     BOOLEAN NOT NULL,
				status          TEXT NOT NULL,
				reason          TEXT NOT NULL,
				preview         TEXT NOT NULL,
				log_id          TEXT NOT NULL,
				env_url         TEXT NOT NULL,
				deployment_id   BIGINT NOT NULL,
				requested_at    BIGINT NOT NULL,
				started_at      BIGINT NOT NULL,
				finished_at     BIGINT NOT NULL,
				requested_seq   BIGINT NOT NULL,
				finished_seq    BIGINT NOT NULL
			)`,
			`CREATE INDEX stagecoach_promotion_env ON stagecoach_promotion (repo, environment, status, requested_at)`,
			`CREATE TABLE stagecoach_approval (
				repo        TEXT NOT NULL,
				environment TEXT NOT NULL,
				sha         TEXT NOT NULL,
				approver    TEXT NOT NULL,
				approved_at BIGINT NOT NULL,
				PRIMARY KEY (repo, environment, sha, approver)
			)`,
		}},
	}
}

// Promotion states. Queued and running change; the others are final and never change again.
const (
	PromotionQueued     = "queued"
	PromotionRunning    = "running"
	PromotionSucceeded  = "succeeded"
	PromotionFailed     = "failed"
	PromotionSuperseded = "superseded"
	PromotionRefused    = "refused"
)

// Records are ordered by time and, within one millisecond (or under a stopped test clock), by
// sequence numbers the store assigns on insert (requested_seq) and on every update (finished_seq).

// Promotion is one deploy of a commit to a long-lived environment. Once it is finished
// (succeeded, failed, superseded or refused) its record never changes.
type Promotion struct {
	// ID is unique and chosen by the caller so a retried request inserts it once.
	ID             string
	Repo           string
	InstallationID int64
	Environment    string
	Stack          string
	SHA            string
	// ReplacedSHA is the commit the environment ran before ("" for the first deploy).
	ReplacedSHA string
	// ParentSHA is, for a merge, the default branch's head before the push ("" otherwise): it
	// orders merges whose events were processed out of order.
	ParentSHA string
	// Trigger is merge, label, comment or api.
	Trigger   string
	Requester string
	Approvers []string
	// PR is the pull request that reports on the promotion (0 for none).
	PR int
	// Target is the furthest environment a labelled promotion goes to ("" = this one).
	Target   string
	Rollback bool
	Status   string
	// Reason says why a promotion failed, was refused or was superseded.
	Reason string
	// Preview is the one-line summary of the preview run before the deploy.
	Preview      string
	LogID        string
	EnvURL       string
	DeploymentID int64
	RequestedAt  time.Time
	StartedAt    time.Time
	FinishedAt   time.Time
}

// Finished reports whether the record is final.
func (p Promotion) Finished() bool {
	return p.Status != PromotionQueued && p.Status != PromotionRunning
}

const promotionColumns = `id, repo, installation_id, environment, stack, sha, replaced_sha, parent_sha, trigger_kind, requester,
	approvers, pr, target, is_rollback, status, reason, preview, log_id, env_url, deployment_id, requested_at, started_at, finished_at`

// InsertPromotion queues p (status queued, requested now unless set). It reports false when a
// promotion with p.ID exists already, which is then left alone.
func (s *Store) InsertPromotion(ctx context.Context, p Promotion) (bool, error) {
	if p.RequestedAt.IsZero() {
		p.RequestedAt = s.now()
	}
	if p.Status == "" {
		p.Status = PromotionQueued
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_promotion (`+promotionColumns+`
		, requested_seq, finished_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
			(SELECT COALESCE(MAX(requested_seq), 0) + 1 FROM stagecoach_promotion),
			(SELECT COALESCE(MAX(finished_seq), 0) + 1 FROM stagecoach_promotion))
		ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Repo, p.InstallationID, p.Environment, p.Stack, p.SHA, p.ReplacedSHA, p.ParentSHA, p.Trigger, p.Requester,
		strings.Join(p.Approvers, ","), p.PR, p.Target, p.Rollback, p.Status, p.Reason, p.Preview, p.LogID, p.EnvURL,
		p.DeploymentID, p.RequestedAt.UnixMilli(), millisOrZero(p.StartedAt), millisOrZero(p.FinishedAt))
	if err != nil {
		return false, fmt.Errorf("recording the promotion of %s to %s in %s: %w", p.SHA, p.Environment, p.Repo, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UpdatePromotion writes p's changing fields. A finished record is never changed: updating one
// is ErrNotFound.
func (s *Store) UpdatePromotion(ctx context.Context, p Promotion) error {
	res, err := s.db.ExecContext(ctx, `UPDATE stagecoach_promotion SET replaced_sha = $2, approvers = $3, status = $4,
		reason = $5, preview = $6, log_id = $7, env_url = $8, deployment_id = $9, started_at = $10, finished_at = $11,
		finished_seq = (SELECT COALESCE(MAX(finished_seq), 0) + 1 FROM stagecoach_promotion)
		WHERE id = $1 AND status IN ('queued', 'running')`,
		p.ID, p.ReplacedSHA, strings.Join(p.Approvers, ","), p.Status, p.Reason, p.Preview, p.LogID, p.EnvURL,
		p.DeploymentID, millisOrZero(p.StartedAt), millisOrZero(p.FinishedAt))
	if err != nil {
		return fmt.Errorf("updating promotion %s: %w", p.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("updating promotion %s: it is finished or gone: %w", p.ID, ErrNotFound)
	}
	return nil
}

// PromotionByID returns one promotion, or ErrNotFound.
func (s *Store) PromotionByID(ctx context.Context, id string) (Promotion, error) {
	ps, err := s.promotions(ctx, `WHERE id = $1`, id)
	if err != nil {
		return Promotion{}, err
	}
	if len(ps) == 0 {
		return Promotion{}, fmt.Errorf("promotion %s: %w", id, ErrNotFound)
	}
	return ps[0], nil
}

// QueuedPromotions lists the promotions waiting for an environment, newest request first.
func (s *Store) QueuedPromotions(ctx context.Context, repo, env string) ([]Promotion, error) {
	return s.promotions(ctx, `WHERE repo = $1 AND environment = $2 AND status IN ('queued', 'running')
		ORDER BY requested_at DESC, requested_seq DESC`, repo, env)
}

// PromotionHistory lists an environment's promotions, newest first, at most limit.
func (s *Store) PromotionHistory(ctx context.Context, repo, env string, limit int) ([]Promotion, error) {
	return s.promotions(ctx, `WHERE repo = $1 AND environment = $2 ORDER BY requested_at DESC, requested_seq DESC LIMIT $3`, repo, env, limit)
}

// SucceededPromotions lists an environment's successful promotions, newest first, at most limit.
func (s *Store) SucceededPromotions(ctx context.Context, repo, env string, limit int) ([]Promotion, error) {
	return s.promotions(ctx, `WHERE repo = $1 AND environment = $2 AND status = 'succeeded'
		ORDER BY finished_at DESC, finished_seq DESC LIMIT $3`, repo, env, limit)
}

// CurrentDeployment returns the commit an environment runs — the latest successful promotion —
// and when it finished deploying; ErrNotFound when nothing was ever promoted there.
func (s *Store) CurrentDeployment(ctx context.Context, repo, env string) (sha string, at time.Time, err error) {
	ps, err := s.SucceededPromotions(ctx, repo, env, 1)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(ps) == 0 {
		return "", time.Time{}, fmt.Errorf("current deployment of %s in %s: %w", env, repo, ErrNotFound)
	}
	return ps[0].SHA, ps[0].FinishedAt, nil
}

// FirstSuccess returns, per environment, when sha first deployed successfully there.
func (s *Store) FirstSuccess(ctx context.Context, repo, sha string) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT environment, MIN(finished_at) FROM stagecoach_promotion
		WHERE repo = $1 AND sha = $2 AND status = 'succeeded' GROUP BY environment`, repo, sha)
	if err != nil {
		return nil, fmt.Errorf("reading where %s was deployed in %s: %w", sha, repo, err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var env string
		var at int64
		if err := rows.Scan(&env, &at); err != nil {
			return nil, fmt.Errorf("reading where %s was deployed in %s: %w", sha, repo, err)
		}
		out[strings.ToLower(env)] = time.UnixMilli(at)
	}
	return out, rows.Err()
}

// PromotionEnvironment is an environment of a repository with queued promotions.
type PromotionEnvironment struct {
	Repo           string
	Environment    string
	InstallationID int64
}

// QueuedEnvironments lists the environments that have queued promotions, or one left running by a
// crashed replica, for a sweep that makes sure each has a job.
func (s *Store) QueuedEnvironments(ctx context.Context) ([]PromotionEnvironment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT repo, environment, MAX(installation_id) FROM stagecoach_promotion
		WHERE status IN ('queued', 'running') GROUP BY repo, environment ORDER BY repo, environment`)
	if err != nil {
		return nil, fmt.Errorf("listing queued promotions: %w", err)
	}
	defer rows.Close()
	var out []PromotionEnvironment
	for rows.Next() {
		var e PromotionEnvironment
		if err := rows.Scan(&e.Repo, &e.Environment, &e.InstallationID); err != nil {
			return nil, fmt.Errorf("listing queued promotions: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *Store) promotions(ctx context.Context, where string, args ...any) ([]Promotion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+promotionColumns+` FROM stagecoach_promotion `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("reading promotions: %w", err)
	}
	defer rows.Close()
	var out []Promotion
	for rows.Next() {
		var p Promotion
		var approvers string
		var req, start, fin int64
		if err := rows.Scan(&p.ID, &p.Repo, &p.InstallationID, &p.Environment, &p.Stack, &p.SHA, &p.ReplacedSHA, &p.ParentSHA,
			&p.Trigger, &p.Requester, &approvers, &p.PR, &p.Target, &p.Rollback, &p.Status, &p.Reason, &p.Preview,
			&p.LogID, &p.EnvURL, &p.DeploymentID, &req, &start, &fin); err != nil {
			return nil, fmt.Errorf("reading promotions: %w", err)
		}
		if approvers != "" {
			p.Approvers = strings.Split(approvers, ",")
		}
		p.RequestedAt, p.StartedAt, p.FinishedAt = time.UnixMilli(req), timeOrZero(start), timeOrZero(fin)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ApprovalRecord is one "/approve <env>" of a commit.
type ApprovalRecord struct {
	Approver   string
	ApprovedAt time.Time
}

// AddApproval records that approver approved sha for env; approving again keeps the first time.
func (s *Store) AddApproval(ctx context.Context, repo, env, sha, approver string) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO stagecoach_approval (repo, environment, sha, approver, approved_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repo, environment, sha, approver) DO NOTHING`,
		repo, strings.ToLower(env), sha, approver, s.millis()); err != nil {
		return fmt.Errorf("recording the approval of %s for %s by %s: %w", sha, env, approver, err)
	}
	return nil
}

// Approvals lists the approvals of sha for env, oldest first.
func (s *Store) Approvals(ctx context.Context, repo, env, sha string) ([]ApprovalRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT approver, approved_at FROM stagecoach_approval
		WHERE repo = $1 AND environment = $2 AND sha = $3 ORDER BY approved_at, approver`, repo, strings.ToLower(env), sha)
	if err != nil {
		return nil, fmt.Errorf("reading approvals of %s for %s: %w", sha, env, err)
	}
	defer rows.Close()
	var out []ApprovalRecord
	for rows.Next() {
		var a ApprovalRecord
		var at int64
		if err := rows.Scan(&a.Approver, &at); err != nil {
			return nil, fmt.Errorf("reading approvals of %s for %s: %w", sha, env, err)
		}
		a.ApprovedAt = time.UnixMilli(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

func millisOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOrZero(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
