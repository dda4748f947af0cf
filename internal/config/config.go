// Package config holds the process settings of the stagecoach bot, read from
// STAGECOACH_* environment variables. There is one struct per subsystem; every
// field's comment gives its meaning and default, and Settings lists each
// variable once, so loading, `bot --help` and the README table cannot drift.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Config is the whole process configuration.
type Config struct {
	HTTP   HTTP
	Store  Store
	GitHub GitHub
	Pulumi Pulumi
	Jobs   Jobs
	Log    Log
}

// HTTP configures the webhook server.
type HTTP struct {
	// Addr is the address the server listens on. Default ":8080".
	Addr string
	// WebhookSecret verifies X-Hub-Signature-256 on every delivery. Required by `serve`;
	// no default. Read from STAGECOACH_WEBHOOK_SECRET or the file STAGECOACH_WEBHOOK_SECRET_FILE names.
	WebhookSecret string
	// RepoAllowlist holds owner/repo globs (path.Match syntax, case-insensitive); events from
	// other repositories are acknowledged and dropped. Default: empty, meaning every repository.
	RepoAllowlist []string
	// PublicURL is the externally reachable base URL of this bot, used for links to logs and
	// the status page in comments. Default: empty (no links).
	PublicURL string
	// ShutdownTimeout bounds how long a graceful stop waits for requests and running jobs. Default 30s.
	ShutdownTimeout time.Duration
	// AdminAddr, when set, is a second listen address that alone serves the status page, /metrics
	// and /logs/{id}; Addr then serves only the webhook, /healthz and /readyz. Default: empty,
	// everything on Addr.
	AdminAddr string
	// PublicLogs serves /logs/{id} on Addr; false answers 404 there (the admin address, when set,
	// still serves them). Default true, until the console login replaces it.
	PublicLogs bool
	// WebhookMaxConcurrent bounds how many webhook bodies are read and handled at once; beyond it
	// requests get 503 with Retry-After. Default 0: 2×GOMAXPROCS+4.
	WebhookMaxConcurrent int
}

// LogLinkBase is the base URL that comments, check runs and deployment statuses link operation logs
// under: PublicURL while Addr serves /logs/{id} to the public (PublicLogs, no AdminAddr), else "" (no
// links: a link that answers 404 to everyone who clicks it helps nobody).
func (h HTTP) LogLinkBase() string {
	if !h.PublicLogs || h.AdminAddr != "" {
		return ""
	}
	return h.PublicURL
}

// Store configures the state database.
type Store struct {
	// DataDir holds the SQLite database, the Pulumi file backend and work directories. Default "./.stagecoach".
	DataDir string
	// DatabaseURL selects the database: empty or "sqlite:///path" for SQLite (default
	// <DataDir>/stagecoach.db), "postgres://…" for Postgres shared by several replicas.
	DatabaseURL string
}

// GitHub configures the GitHub App client.
type GitHub struct {
	// AppID is the GitHub App's numeric id. Default 0 (unset: jobs that call GitHub fail until set).
	AppID int64
	// PrivateKey is the App's PEM private key, from STAGECOACH_GITHUB_PRIVATE_KEY or the file
	// STAGECOACH_GITHUB_PRIVATE_KEY_FILE names. Never logged. No default.
	PrivateKey []byte
	// PrivateKeySource says where PrivateKey came from, for doctor output ("env", a file path, or "").
	PrivateKeySource string
	// APIURL is the REST API base URL. Default "https://api.github.com/"; set it for GitHub
	// Enterprise Server ("https://HOST/api/v3/") and in tests.
	APIURL string
	// AppSlug is the App's URL name; the bot ignores events sent by "<slug>[bot]". Default: looked
	// up from the API at start.
	AppSlug string
	// MaxRetries is how often a failed API call (5xx, network error, rate limit) is retried. Default 4.
	MaxRetries int
	// MaxRetryWait is the longest a single retry waits for a rate limit to reset; longer waits
	// are handed back to the job, which is snoozed until the reset. Default 1m.
	MaxRetryWait time.Duration
}

// Pulumi configures the engine.
type Pulumi struct {
	// Command is the path of the pulumi CLI. Default: `pulumi` on PATH, else the pinned v3.274.1
	// from the user cache directory, downloaded or built on first use.
	Command string
	// BackendURL is the Pulumi state backend. Default "file://<DataDir>/state".
	BackendURL string
	// SecretsProvider encrypts stack secrets: "passphrase" or a provider URL such as "awskms://…".
	// Default "passphrase".
	SecretsProvider string
	// Passphrase unlocks the passphrase secrets provider, from PULUMI_CONFIG_PASSPHRASE or the file
	// PULUMI_CONFIG_PASSPHRASE_FILE names. Never logged. No default.
	Passphrase string
	// MaxConcurrentOperations caps concurrent Pulumi processes in this replica. Default 2.
	MaxConcurrentOperations int
	// OperationTimeout bounds one Pulumi operation (preview, up, destroy) once its CLI runs. Default 1h.
	OperationTimeout time.Duration
	// Env names the variables of the bot's environment that Pulumi processes (and so a pull request's
	// program) get, as names or globs such as "AWS_*". Nothing else is inherited but PATH and the locale;
	// STAGECOACH_*, GITHUB_TOKEN, GH_TOKEN and database URLs never are. From STAGECOACH_PULUMI_ENV,
	// comma-separated; "none" passes nothing. Default DefaultPulumiEnv: the usual cloud credentials.
	Env []string
	// User runs every Pulumi process as this user (a name or uid[:gid]) so a pull request's program
	// cannot read the bot's files. Needs the bot to run as root. Default "" (the bot's own user).
	User string
	// Runner is the Unix socket of the `bot runner` that starts every Pulumi process: `serve` sends
	// them there, `runner` listens there. Exclusive with User. Default "" (the bot starts them).
	Runner string
	// FileBackendShared says that a file:// BackendURL is one directory every replica mounts (or that
	// one replica runs), which allows it with Postgres. Default false.
	FileBackendShared bool
}

// DefaultPulumiEnv is the default of STAGECOACH_PULUMI_ENV (engine.DefaultInheritEnv).
var DefaultPulumiEnv = []string{
	"AWS_*", "AZURE_*", "ARM_*", "GOOGLE_*", "CLOUDSDK_*", "KUBECONFIG", "DIGITALOCEAN_*",
	"PULUMI_ACCESS_TOKEN",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// Jobs configures the durable job queue.
type Jobs struct {
	// Workers is the number of jobs this replica runs at once. Default 8.
	Workers int
	// RetentionPeriod is how long finished jobs and processed deliveries stay in the database. Default 168h (7 days).
	RetentionPeriod time.Duration
	// LogRetention is how long Pulumi operation logs are kept before the cleanup job deletes them.
	// Default 720h (30 days).
	LogRetention time.Duration
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default "info".
	Level string
	// Format is "json" or "text". Default "json".
	Format string
}

// SQLitePath reports the SQLite database file and true when the store is SQLite.
func (s Store) SQLitePath() (string, bool) {
	switch {
	case s.DatabaseURL == "":
		return filepath.Join(s.DataDir, "stagecoach.db"), true
	case strings.HasPrefix(s.DatabaseURL, "sqlite://"):
		return strings.TrimPrefix(s.DatabaseURL, "sqlite://"), true
	}
	return "", false
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	return errors.Join(c.HTTP.Validate(), c.Store.Validate(), c.GitHub.Validate(), c.Pulumi.Validate(),
		c.Jobs.Validate(), c.Log.Validate(), c.validateReplicas())
}

// validateReplicas refuses the combination that orphans stacks: Postgres is there so that several
// replicas share the work, but a file:// state backend lives on one replica's disk, so a stack one
// replica deployed would be invisible to the others, which would deploy it again from nothing and
// never destroy the first copy.
func (c Config) validateReplicas() error {
	if _, sqlite := c.Store.SQLitePath(); sqlite || !strings.HasPrefix(c.Pulumi.BackendURL, "file:") || c.Pulumi.FileBackendShared {
		return nil
	}
	return fmt.Errorf("STAGECOACH_PULUMI_BACKEND_URL: %s is a directory on this replica's disk, but STAGECOACH_DATABASE_URL is Postgres, "+
		"which is for several replicas: each would keep its own copy of every stack's state, and stacks deployed by one would be "+
		"orphaned by the others. Use a backend every replica reaches (s3://…, gs://…, azblob://…, https://api.pulumi.com), "+
		"or, if that directory is shared by every replica (NFS) or only one replica runs, set STAGECOACH_FILE_BACKEND_SHARED=true",
		c.Pulumi.BackendURL)
}

// problems collects the errors of one subsystem's settings.
type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

// Validate reports every problem with the HTTP settings.
func (h HTTP) Validate() error {
	var p problems
	if h.Addr == "" {
		p.add("STAGECOACH_ADDR: must not be empty")
	}
	for _, g := range h.RepoAllowlist {
		if _, err := path.Match(g, "a/b"); err != nil || !strings.Contains(g, "/") {
			p.add("STAGECOACH_REPO_ALLOWLIST: %q is not an owner/repo glob", g)
		}
	}
	if h.PublicURL != "" {
		if u, err := url.Parse(h.PublicURL); err != nil || u.Scheme == "" || u.Host == "" {
			p.add("STAGECOACH_PUBLIC_URL: %q is not an absolute URL", h.PublicURL)
		}
	}
	if h.AdminAddr != "" && h.AdminAddr == h.Addr && !strings.HasSuffix(h.Addr, ":0") {
		p.add("STAGECOACH_ADMIN_ADDR: must differ from STAGECOACH_ADDR (leave it empty to serve everything there)")
	}
	if h.WebhookMaxConcurrent < 0 {
		p.add("STAGECOACH_WEBHOOK_MAX_CONCURRENT: must not be negative")
	}
	return errors.Join(p...)
}

// Validate reports every problem with the database settings.
func (s Store) Validate() error {
	var p problems
	if s.DataDir == "" {
		p.add("STAGECOACH_DATA_DIR: must not be empty")
	}
	if u := s.DatabaseURL; u != "" && !strings.HasPrefix(u, "sqlite://") &&
		!strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		p.add("STAGECOACH_DATABASE_URL: %q must start with postgres:// or sqlite://", redactURL(u))
	}
	return errors.Join(p...)
}

// Validate reports every problem with the GitHub App settings.
func (g GitHub) Validate() error {
	var p problems
	if u, err := url.Parse(g.APIURL); err != nil || u.Scheme == "" || u.Host == "" {
		p.add("STAGECOACH_GITHUB_API_URL: %q is not an absolute URL", g.APIURL)
	}
	if g.AppID < 0 {
		p.add("STAGECOACH_GITHUB_APP_ID: must be positive")
	}
	if g.AppID > 0 && len(g.PrivateKey) == 0 {
		p.add("STAGECOACH_GITHUB_PRIVATE_KEY_FILE: the App id is set but no private key is; set STAGECOACH_GITHUB_PRIVATE_KEY_FILE or STAGECOACH_GITHUB_PRIVATE_KEY")
	}
	if g.MaxRetries < 0 {
		p.add("STAGECOACH_GITHUB_MAX_RETRIES: must not be negative")
	}
	return errors.Join(p...)
}

// Validate reports every problem with the Pulumi settings.
func (e Pulumi) Validate() error {
	var p problems
	if e.MaxConcurrentOperations < 1 {
		p.add("STAGECOACH_MAX_CONCURRENT_OPERATIONS: must be at least 1")
	}
	if e.BackendURL == "" {
		p.add("STAGECOACH_PULUMI_BACKEND_URL: must not be empty")
	}
	for _, g := range e.Env {
		if _, err := path.Match(g, ""); err != nil || strings.ContainsAny(g, "= ") {
			p.add("STAGECOACH_PULUMI_ENV: %q is not a variable name or glob such as AWS_*", g)
		}
	}
	if e.Runner != "" && !filepath.IsAbs(e.Runner) {
		p.add("STAGECOACH_PULUMI_RUNNER: %q must be the absolute path of a Unix socket", e.Runner)
	}
	if e.Runner != "" && e.User != "" {
		p.add("STAGECOACH_PULUMI_USER: must be empty when STAGECOACH_PULUMI_RUNNER is set (the runner already keeps Pulumi away from the bot's secrets)")
	}
	if u := e.User; u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		p.add("STAGECOACH_PULUMI_USER: %q is root; name an unprivileged user, or leave it empty", u)
	}
	return errors.Join(p...)
}

// Validate reports every problem with the job queue settings.
func (j Jobs) Validate() error {
	var p problems
	if j.Workers < 1 {
		p.add("STAGECOACH_WORKERS: must be at least 1")
	}
	if j.LogRetention < time.Hour {
		p.add("STAGECOACH_LOG_RETENTION: must be at least 1h, so links in fresh comments work")
	}
	return errors.Join(p...)
}

// Validate reports every problem with the log settings.
func (l Log) Validate() error {
	var p problems
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("STAGECOACH_LOG_LEVEL: %q is not one of debug, info, warn, error", l.Level)
	}
	switch l.Format {
	case "json", "text":
	default:
		p.add("STAGECOACH_LOG_FORMAT: %q is not one of json, text", l.Format)
	}
	return errors.Join(p...)
}

// ValidateServe adds the checks only `bot serve` needs to Validate.
func (c Config) ValidateServe() error {
	err := c.Validate()
	if c.HTTP.WebhookSecret == "" {
		err = errors.Join(err, errors.New("no webhook secret: set STAGECOACH_WEBHOOK_SECRET (or STAGECOACH_WEBHOOK_SECRET_FILE) to the secret configured on the GitHub App's webhook, e.g. `export STAGECOACH_WEBHOOK_SECRET=$(openssl rand -hex 32)`"))
	}
	return err
}

// redactURL removes a password from a URL so it can be printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
