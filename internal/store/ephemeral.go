package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ephemeralMigrations create the tables of PR environments (versions 100–199).
func ephemeralMigrations() []migration {
	return []migration{
		{version: 100, name: "pull request environments", sql: []string{
			`CREATE TABLE stagecoach_pr_env (
				repo              TEXT NOT NULL,
				pr                BIGINT NOT NULL,
				installation_id   BIGINT NOT NULL,
				stack             TEXT NOT NULL,
				project           TEXT NOT NULL,
				slot              BIGINT NOT NULL,
				status            TEXT NOT NULL,
				want              TEXT NOT NULL,
				fork              BOOLEAN NOT NULL,
				keep              BOOLEAN NOT NULL,
				paused            BOOLEAN NOT NULL,
				head_sha          TEXT NOT NULL,
				head_seq          BIGINT NOT NULL,
				desired_sha       TEXT NOT NULL,
				desired_seq       BIGINT NOT NULL,
				deployed_sha      TEXT NOT NULL,
				deployed_seq      BIGINT NOT NULL,
				failed_seq        BIGINT NOT NULL,
				approved_sha      TEXT NOT NULL,
				preview_wanted    BOOLEAN NOT NULL,
				comment_id        BIGINT NOT NULL,
				deployment_id     BIGINT NOT NULL,
				env_url           TEXT NOT NULL,
				summary           TEXT NOT NULL,
				expires_at        BIGINT NOT NULL,
				warned            BOOLEAN NOT NULL,
				first_deployed_at BIGINT NOT NULL,
				queued_at         BIGINT NOT NULL,
				last_error        TEXT NOT NULL,
				updated_at        BIGINT NOT NULL,
				PRIMARY KEY (repo, pr)
			)`,
			`CREATE INDEX stagecoach_pr_env_status ON stagecoach_pr_env (repo, status)`,
			// Two PRs claiming a slot at once on Postgres must not both get it.
			`CREATE UNIQUE INDEX stagecoach_pr_env_slot ON stagecoach_pr_env (repo, slot) WHERE slot >= 0`,
		}},
		{version: 101, name: "pull request environments: when the head was seen", sql: []string{
			`ALTER TABLE stagecoach_pr_env ADD COLUMN head_at BIGINT NOT NULL DEFAULT 0`,
			`ALTER TABLE stagecoach_pr_env ADD COLUMN check_run_id BIGINT NOT NULL DEFAULT 0`,
			`ALTER TABLE stagecoach_pr_env ADD COLUMN check_sha TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE stagecoach_pr_env ADD COLUMN deployment_sha TEXT NOT NULL DEFAULT ''`,
		}},
		{version: 102, name: "pull request environments: slot pools shared by repositories", sql: []string{
			// The pool a held slot belongs to ('' while none is held): a slot is unique in its pool,
			// which several repositories deploying into one cloud account share.
			`ALTER TABLE stagecoach_pr_env ADD COLUMN slot_pool TEXT NOT NULL DEFAULT ''`,
			`UPDATE stagecoach_pr_env SET slot_pool = repo WHERE slot >= 0`,
			`DROP INDEX stagecoach_pr_env_slot`,
			`CREATE UNIQUE INDEX stagecoach_pr_env_pool_slot ON stagecoach_pr_env (slot_pool, slot) WHERE slot >= 0`,
		}},
	}
}

// PR environment states.
const (
	PRIdle       = "idle" // known, nothing deployed and nothing wanted (e.g. a draft, an unapproved fork)
	PRQueued     = "queued"
	PRPreviewing = "previewing"
	PRDeploying  = "deploying"
	PRReady      = "ready"
	PRFailed     = "failed"
	PRDestroying = "destroying"
	PRDestroyed  = "destroyed"
)

// What a PR environment should become.
const (
	WantNothing = ""
	WantDeploy  = "deploy"
	WantDestroy = "destroy"
)

// PREnvironment is one pull request's ephemeral environment.
type PREnvironment struct {
	Repo           string
	PR             int
	InstallationID int64
	Stack          string
	// Project is the Pulumi project name, known after the first deploy (for state-only destroys).
	Project string
	// Slot is the integer 0–255 unique among active environments of the repository; -1 for none.
	Slot   int
	Status string
	// Want is what the PR's job should do: deploy, destroy or nothing.
	Want string
	Fork bool
	// Keep exempts the environment from the TTL (the keep label).
	Keep bool
	// Paused is set by /destroy: pushes do not deploy again until /deploy.
	Paused bool
	// HeadSHA/HeadSeq are the PR's latest head and its push order.
	HeadSHA string
	HeadSeq int64
	// HeadAt is when HeadSHA became the head, on GitHub's clock where the caller knows it (the
	// payload's updated_at), else when the bot saw it: a fork approval binds to a head that existed
	// before the approving comment was written.
	HeadAt time.Time
	// CheckRunID is the check run of CheckSHA, and DeploymentSHA the commit of DeploymentID: a deploy
	// taken up again after a crash finishes them instead of leaving them in progress beside new ones.
	CheckRunID    int64
	CheckSHA      string
	DeploymentSHA string
	// DesiredSHA/DesiredSeq are what should be deployed.
	DesiredSHA string
	DesiredSeq int64
	// DeployedSHA/DeployedSeq are what is deployed (0 for nothing).
	DeployedSHA string
	DeployedSeq int64
	// FailedSeq is the push order of the last failed deploy, not retried by itself.
	FailedSeq int64
	// ApprovedSHA is the fork head a writer approved with /deploy.
	ApprovedSHA   string
	PreviewWanted bool
	CommentID     int64
	DeploymentID  int64
	EnvURL        string
	// Summary is the one-line result of the last operation.
	Summary         string
	ExpiresAt       time.Time
	Warned          bool
	FirstDeployedAt time.Time
	QueuedAt        time.Time
	LastError       string
	UpdatedAt       time.Time
}

// Active reports whether the environment holds a slot (deployed or being deployed).
func (e PREnvironment) Active() bool { return e.Slot >= 0 }

const prEnvColumns = `repo, pr, installation_id, stack, project, slot, status, want, fork, keep, paused, head_sha, head_seq,
	desired_sha, desired_seq, deployed_sha, deployed_seq, failed_seq, approved_sha, preview_wanted, comment_id,
	deployment_id, env_url, summary, expires_at, warned, first_deployed_at, queued_at, last_error, updated_at, head_at,
	check_run_id, check_sha, deployment_sha`

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

type rowScanner interface{ Scan(dest ...any) error }

func scanPREnv(r rowScanner) (PREnvironment, error) {
	var e PREnvironment
	var pr, slot int64
	var exp, first, queued, updated, headAt int64
	err := r.Scan(&e.Repo, &pr, &e.InstallationID, &e.Stack, &e.Project, &slot, &e.Status, &e.Want, &e.Fork, &e.Keep,
		&e.Paused, &e.HeadSHA, &e.HeadSeq, &e.DesiredSHA, &e.DesiredSeq, &e.DeployedSHA, &e.DeployedSeq, &e.FailedSeq,
		&e.ApprovedSHA, &e.PreviewWanted, &e.CommentID, &e.DeploymentID, &e.EnvURL, &e.Summary, &exp, &e.Warned,
		&first, &queued, &e.LastError, &updated, &headAt, &e.CheckRunID, &e.CheckSHA, &e.DeploymentSHA)
	e.HeadAt = fromMS(headAt)
	e.PR, e.Slot = int(pr), int(slot)
	e.ExpiresAt, e.FirstDeployedAt, e.QueuedAt, e.UpdatedAt = fromMS(exp), fromMS(first), fromMS(queued), fromMS(updated)
	return e, err
}

// PREnvironment returns the environment of repo#pr, ErrNotFound when the bot never saw it.
func (s *Store) PREnvironment(ctx context.Context, repo string, pr int) (PREnvironment, error) {
	e, err := scanPREnv(s.db.QueryRowContext(ctx, `SELECT `+prEnvColumns+` FROM stagecoach_pr_env WHERE repo = $1 AND pr = $2`, repo, pr))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("PR environment %s#%d: %w", repo, pr, ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("reading the PR environment %s#%d: %w", repo, pr, err)
	}
	return e, nil
}

// UpdatePREnvironment changes the environment of repo#pr with fn inside one transaction, creating
// it from init when it does not exist yet (init nil: ErrNotFound), and returns the result. The slot
// is left as fn sets it; use ClaimSlot to take one.
func (s *Store) UpdatePREnvironment(ctx context.Context, repo string, pr int, init *PREnvironment, fn func(*PREnvironment) error) (PREnvironment, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return PREnvironment{}, fmt.Errorf("updating the PR environment %s#%d: %w", repo, pr, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	// On Postgres the row is locked until commit, so concurrent updates of one PR (a webhook and a
	// worker) apply one after the other; SQLite's write transactions are serialised already.
	e, err := scanPREnv(tx.QueryRowContext(ctx, `SELECT `+prEnvColumns+` FROM stagecoach_pr_env WHERE repo = $1 AND pr = $2`+s.forUpdate(), repo, pr))
	switch {
	case errors.Is(err, sql.ErrNoRows) && init != nil:
		e = *init
		e.Repo, e.PR = repo, pr
		if e.Status == "" {
			e.Status = PRIdle
		}
	case errors.Is(err, sql.ErrNoRows):
		return e, fmt.Errorf("PR environment %s#%d: %w", repo, pr, ErrNotFound)
	case err != nil:
		return e, fmt.Errorf("reading the PR environment %s#%d: %w", repo, pr, err)
	}
	before := e.HeadSHA
	if err := fn(&e); err != nil {
		return e, err
	}
	e.UpdatedAt = s.now()
	if e.HeadSHA != before && e.HeadAt.IsZero() {
		e.HeadAt = e.UpdatedAt // the caller knew no better time
	}
	if err := upsertPREnv(ctx, tx, e); err != nil {
		return e, fmt.Errorf("updating the PR environment %s#%d: %w", repo, pr, err)
	}
	return e, tx.Commit()
}

// upsertPREnv writes e, in place when the row exists.
func upsertPREnv(ctx context.Context, tx *sql.Tx, e PREnvironment) error {
	var set []string
	for _, c := range strings.Split(prEnvColumns, ",") {
		if c = strings.TrimSpace(c); c != "repo" && c != "pr" {
			set = append(set, c+" = excluded."+c)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO stagecoach_pr_env (`+prEnvColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
		$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)
		ON CONFLICT (repo, pr) DO UPDATE SET `+strings.Join(set, ", "),
		e.Repo, e.PR, e.InstallationID, e.Stack, e.Project, e.Slot, e.Status, e.Want, e.Fork, e.Keep, e.Paused,
		e.HeadSHA, e.HeadSeq, e.DesiredSHA, e.DesiredSeq, e.DeployedSHA, e.DeployedSeq, e.FailedSeq, e.ApprovedSHA,
		e.PreviewWanted, e.CommentID, e.DeploymentID, e.EnvURL, e.Summary, ms(e.ExpiresAt), e.Warned,
		ms(e.FirstDeployedAt), ms(e.QueuedAt), e.LastError, ms(e.UpdatedAt), ms(e.HeadAt),
		e.CheckRunID, e.CheckSHA, e.DeploymentSHA)
	return err
}

// ClaimSlot gives repo#pr the lowest slot (0–255) free in pool when fewer than maxActive
// environments of the repository hold one. pool names the slots several repositories share (their
// PR stacks live in one cloud account); "" is the repository's own. It reports the slot (-1 when none
// is free) and, when none is, the PR's 1-based position among the repository's PRs waiting for a
// slot (by the time they started waiting).
func (s *Store) ClaimSlot(ctx context.Context, repo string, pr, maxActive int, pool string) (slot, position int, err error) {
	if pool == "" {
		pool = repo
	}
	// A concurrent claim can take the same free slot first; the unique index refuses the second
	// claim, which then looks again.
	for attempt := 0; ; attempt++ {
		slot, position, err = s.claimSlot(ctx, repo, pr, maxActive, pool)
		if err == nil || attempt == 4 || !isUniqueViolation(err) {
			return slot, position, err
		}
	}
}

// pgUniqueViolation is Postgres's SQLSTATE for unique_violation.
const pgUniqueViolation = "23505"

// isUniqueViolation recognises a unique-constraint error of either engine by its typed error
// (pgx's *pgconn.PgError, modernc's *sqlite.Error), anywhere in err's tree.
func isUniqueViolation(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == pgUniqueViolation
	}
	if liteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		code := liteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func (s *Store) claimSlot(ctx context.Context, repo string, pr, maxActive int, pool string) (slot, position int, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return -1, 0, fmt.Errorf("claiming a slot for %s#%d: %w", repo, pr, err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	e, err := scanPREnv(tx.QueryRowContext(ctx, `SELECT `+prEnvColumns+` FROM stagecoach_pr_env WHERE repo = $1 AND pr = $2`+s.forUpdate(), repo, pr))
	if err != nil {
		return -1, 0, fmt.Errorf("claiming a slot for %s#%d: %w", repo, pr, err)
	}
	if e.Slot >= 0 {
		return e.Slot, 0, nil
	}
	// Every held slot number stays reserved (its resources may exist), but an environment whose
	// first deploy failed does not count against max_active: ten failing PRs must not queue the
	// eleventh.
	// Slots in use: the pool's, whichever repository holds them; max_active counts this repository's.
	rows, err := tx.QueryContext(ctx, `SELECT repo, slot_pool, slot, status, deployed_seq FROM stagecoach_pr_env
		WHERE (slot_pool = $1 OR repo = $2) AND slot >= 0`, pool, repo)
	if err != nil {
		return -1, 0, fmt.Errorf("claiming a slot for %s#%d: %w", repo, pr, err)
	}
	used := map[int]bool{}
	active := 0
	for rows.Next() {
		var v, deployed int64
		var holder, holderPool, status string
		if err := rows.Scan(&holder, &holderPool, &v, &status, &deployed); err != nil {
			rows.Close()
			return -1, 0, fmt.Errorf("claiming a slot for %s#%d: %w", repo, pr, err)
		}
		if holderPool == pool {
			used[int(v)] = true
		}
		if holder == repo && (status != PRFailed || deployed > 0) {
			active++
		}
	}
	rows.Close()
	now := s.millis()
	if e.QueuedAt.IsZero() {
		if _, err := tx.ExecContext(ctx, `UPDATE stagecoach_pr_env SET queued_at = $1 WHERE repo = $2 AND pr = $3`, now, repo, pr); err != nil {
			return -1, 0, fmt.Errorf("claiming a slot for %s#%d: %w", repo, pr, err)
		}
		e.QueuedAt = time.UnixMilli(now)
	}
	free := -1
	if active < maxActive {
		for i := 0; i < 256; i++ {
			if !used[i] {
				free = i
				break
			}
		}
	}
	// Earlier waiters go first.
	var ahead int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM stagecoach_pr_env WHERE repo = $1 AND slot < 0 AND want = $2
		AND queued_at > 0 AND (queued_at < $3 OR (queued_at = $3 AND pr < $4))`, repo, WantDeploy, ms(e.QueuedAt), pr).Scan(&ahead); err != nil {
		return -1, 0, fmt.Errorf("claiming a slot for %s#%d: %w", repo, pr, err)
	}
	if free < 0 || ahead > 0 {
		return -1, ahead + 1, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stagecoach_pr_env SET slot = $1, slot_pool = $2, queued_at = 0 WHERE repo = $3 AND pr = $4`, free, pool, repo, pr); err != nil {
		return -1, 0, fmt.Errorf("claiming a slot for %s#%d: %w", repo, pr, err)
	}
	return free, 0, tx.Commit()
}

// listPREnvs returns the environments matching where (a condition on the columns) in PR order.
func (s *Store) listPREnvs(ctx context.Context, where string, args ...any) ([]PREnvironment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+prEnvColumns+` FROM stagecoach_pr_env WHERE `+where+` ORDER BY repo, pr`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing PR environments: %w", err)
	}
	defer rows.Close()
	var out []PREnvironment
	for rows.Next() {
		e, err := scanPREnv(rows)
		if err != nil {
			return nil, fmt.Errorf("listing PR environments: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ActivePREnvironments lists the environments of repo that hold a slot: deployed, being deployed
// or being destroyed.
func (s *Store) ActivePREnvironments(ctx context.Context, repo string) ([]PREnvironment, error) {
	return s.listPREnvs(ctx, `repo = $1 AND slot >= 0`, repo)
}

// WaitingPREnvironments lists the environments of repo waiting for a slot, first come first.
func (s *Store) WaitingPREnvironments(ctx context.Context, repo string) ([]PREnvironment, error) {
	out, err := s.listPREnvs(ctx, `repo = $1 AND slot < 0 AND want = $2 AND queued_at > 0`, repo, WantDeploy)
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].QueuedAt.Before(out[j-1].QueuedAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// PendingPREnvironments lists every environment, of any repository, that holds a slot or has
// work wanted: what the periodic sweep looks at.
func (s *Store) PendingPREnvironments(ctx context.Context) ([]PREnvironment, error) {
	return s.listPREnvs(ctx, `slot >= 0 OR want <> $1`, WantNothing)
}

// PRProjects lists the Pulumi project names seen for repo's environments.
func (s *Store) PRProjects(ctx context.Context, repo string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT project FROM stagecoach_pr_env WHERE repo = $1 AND project <> '' ORDER BY project`, repo)
	if err != nil {
		return nil, fmt.Errorf("listing the projects of %s: %w", repo, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("listing the projects of %s: %w", repo, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// forUpdate locks the selected rows until commit on Postgres; SQLite serialises write
// transactions (BEGIN IMMEDIATE) and has no such clause.
func (s *Store) forUpdate() string {
	if s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}
