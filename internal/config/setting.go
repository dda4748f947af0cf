package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Setting is one environment variable the bot reads.
type Setting struct {
	// Env is the variable's name.
	Env string
	// Default is the value used when the variable is unset, as shown to users.
	Default string
	// Help says what the setting does.
	Help string
	// Secret marks values that are never printed.
	Secret bool
	// Commands names the `bot` commands that read the setting ("serve", "doctor", "schedule",
	// "toolchain install", "demo", "setup"); their --help lists it, and only theirs.
	Commands []string
	// Flag offers the setting as a command-line flag, named by FlagName, on each of Commands.
	// A flag wins over the variable. Secrets get none, as a command line is visible to every user of
	// the machine; the database URL is the exception (it often holds no password; its help warns).
	Flag bool
	set  func(c *Config, v string) error
}

// The commands that read settings, as `bot` names them in Setting.Commands.
const (
	CommandServe     = "serve"
	CommandDoctor    = "doctor"
	CommandSchedule  = "schedule"
	CommandToolchain = "toolchain install"
	CommandDemo      = "demo"
	CommandSetup     = "setup"
	CommandRunner    = "runner"
)

// FlagName is the flag of a setting that has one: the variable without STAGECOACH_, in lower
// case with dashes (STAGECOACH_DATA_DIR: data-dir).
func (s Setting) FlagName() string {
	if !s.Flag {
		return ""
	}
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.Env, "STAGECOACH_")), "_", "-")
}

// SettingsOf lists the settings command reads, in the order of Settings.
func SettingsOf(command string) []Setting {
	var out []Setting
	for _, s := range Settings() {
		if slices.Contains(s.Commands, command) {
			out = append(out, s)
		}
	}
	return out
}

// Settings lists every environment variable, in the order the README documents them.
func Settings() []Setting {
	// Who reads what: serve everything; doctor what its checks look at (and it validates the rest);
	// schedule the database and the GitHub App; toolchain install and demo only the Pulumi CLI;
	// setup the public URL, the GitHub it creates the App on and the data directory it writes to.
	var (
		serve    = []string{CommandServe}
		checked  = []string{CommandServe, CommandDoctor}
		reported = []string{CommandServe, CommandDoctor, CommandSchedule}
		// gitHubSite: where the App's credentials are kept and which GitHub it lives on.
		gitHubSite = []string{CommandServe, CommandDoctor, CommandSchedule, CommandSetup}
		cli        = []string{CommandServe, CommandDoctor, CommandToolchain, CommandDemo, CommandRunner}
	)
	return []Setting{
		{Env: "STAGECOACH_ADDR", Default: ":8080", Help: "HTTP listen address for webhooks, health, metrics and the status page",
			Commands: serve, Flag: true,
			set: func(c *Config, v string) error { c.HTTP.Addr = v; return nil }},
		{Env: "STAGECOACH_WEBHOOK_SECRET", Help: "secret that signs GitHub webhooks (X-Hub-Signature-256); `serve` refuses to start without it", Secret: true,
			Commands: checked,
			set:      func(c *Config, v string) error { c.HTTP.WebhookSecret = v; return nil }},
		{Env: "STAGECOACH_WEBHOOK_SECRET_FILE", Help: "file holding the webhook secret (used when STAGECOACH_WEBHOOK_SECRET is unset)",
			Commands: checked,
			set:      func(c *Config, v string) error { return readFileInto(&c.HTTP.WebhookSecret, v, true) }},
		{Env: "STAGECOACH_REPO_ALLOWLIST", Default: "(all)", Help: "comma-separated owner/repo globs; events from other repositories are acknowledged and dropped",
			Commands: serve,
			set:      func(c *Config, v string) error { c.HTTP.RepoAllowlist = splitList(v); return nil }},
		{Env: "STAGECOACH_PUBLIC_URL", Help: "external base URL of the bot, for links to logs in comments and the App's webhook URL",
			Commands: []string{CommandServe, CommandSetup}, Flag: true,
			set: func(c *Config, v string) error { c.HTTP.PublicURL = strings.TrimRight(v, "/"); return nil }},
		{Env: "STAGECOACH_ADMIN_ADDR", Help: "second listen address for the status page, /metrics and /logs/{id}; when set, STAGECOACH_ADDR serves only the webhook, /healthz and /readyz",
			Commands: serve, Flag: true,
			set: func(c *Config, v string) error { c.HTTP.AdminAddr = v; return nil }},
		{Env: "STAGECOACH_PUBLIC_LOGS", Default: "true", Help: "serve operation logs at /logs/{id} on STAGECOACH_ADDR (false: 404 there); the console login will replace this",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseBool(&c.HTTP.PublicLogs, v) }},
		{Env: "STAGECOACH_WEBHOOK_MAX_CONCURRENT", Default: "(2×GOMAXPROCS+4)", Help: "webhook bodies read at once; more get 503 with Retry-After",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseInt(&c.HTTP.WebhookMaxConcurrent, v) }},
		{Env: "STAGECOACH_SHUTDOWN_TIMEOUT", Default: "30s", Help: "how long a graceful stop waits for requests and running jobs",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseDuration(&c.HTTP.ShutdownTimeout, v) }},
		{Env: "STAGECOACH_DATA_DIR", Default: "./.stagecoach", Help: "directory for the SQLite database, the file state backend and work directories",
			Commands: gitHubSite, Flag: true,
			set: func(c *Config, v string) error { c.Store.DataDir = v; return nil }},
		{Env: "STAGECOACH_DATABASE_URL", Default: "(SQLite in the data dir)", Help: "postgres://… to share one Postgres between replicas, or sqlite:///path", Secret: true,
			Commands: reported, Flag: true,
			set: func(c *Config, v string) error { c.Store.DatabaseURL = v; return nil }},
		{Env: "STAGECOACH_GITHUB_APP_ID", Help: "the GitHub App's id",
			Commands: reported,
			set:      func(c *Config, v string) error { return parseInt64(&c.GitHub.AppID, v) }},
		{Env: "STAGECOACH_GITHUB_PRIVATE_KEY", Help: "the App's PEM private key itself", Secret: true,
			Commands: reported,
			set: func(c *Config, v string) error {
				c.GitHub.PrivateKey = []byte(v)
				c.GitHub.PrivateKeySource = "env"
				return nil
			}},
		{Env: "STAGECOACH_GITHUB_PRIVATE_KEY_FILE", Help: "file holding the App's PEM private key (used when STAGECOACH_GITHUB_PRIVATE_KEY is unset)",
			Commands: reported,
			set: func(c *Config, v string) error {
				var s string
				if err := readFileInto(&s, v, false); err != nil {
					return err
				}
				c.GitHub.PrivateKey, c.GitHub.PrivateKeySource = []byte(s), v
				return nil
			}},
		{Env: "STAGECOACH_GITHUB_API_URL", Default: "https://api.github.com/", Help: "GitHub REST API base URL (GitHub Enterprise Server: https://HOST/api/v3/)",
			Commands: gitHubSite, Flag: true,
			set: func(c *Config, v string) error { c.GitHub.APIURL = v; return nil }},
		{Env: "STAGECOACH_GITHUB_APP_SLUG", Default: "(looked up)", Help: "the App's slug; events from <slug>[bot] are ignored",
			Commands: serve,
			set:      func(c *Config, v string) error { c.GitHub.AppSlug = v; return nil }},
		{Env: "STAGECOACH_GITHUB_MAX_RETRIES", Default: "4", Help: "retries of a GitHub API call on 5xx, network errors and rate limits",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseInt(&c.GitHub.MaxRetries, v) }},
		{Env: "STAGECOACH_GITHUB_MAX_RETRY_WAIT", Default: "1m", Help: "longest in-call wait for a rate limit; longer waits snooze the job until the reset",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseDuration(&c.GitHub.MaxRetryWait, v) }},
		{Env: "STAGECOACH_PULUMI_COMMAND", Default: "(pulumi on PATH, else pinned v3.274.1)", Help: "path of the pulumi CLI",
			Commands: cli, Flag: true,
			set: func(c *Config, v string) error { c.Pulumi.Command = v; return nil }},
		{Env: "STAGECOACH_PULUMI_BACKEND_URL", Default: "file://<data dir>/state", Help: "Pulumi state backend URL (file://, s3://, https://api.pulumi.com …)",
			Commands: checked, Flag: true,
			set: func(c *Config, v string) error { c.Pulumi.BackendURL = v; return nil }},
		{Env: "STAGECOACH_SECRETS_PROVIDER", Default: "passphrase", Help: "Pulumi secrets provider: passphrase, or a URL such as awskms://…",
			Commands: checked,
			set:      func(c *Config, v string) error { c.Pulumi.SecretsProvider = v; return nil }},
		{Env: "PULUMI_CONFIG_PASSPHRASE", Help: "passphrase for the passphrase secrets provider", Secret: true,
			Commands: checked,
			set:      func(c *Config, v string) error { c.Pulumi.Passphrase = v; return nil }},
		{Env: "PULUMI_CONFIG_PASSPHRASE_FILE", Help: "file holding the passphrase (used when PULUMI_CONFIG_PASSPHRASE is unset)",
			Commands: checked,
			set:      func(c *Config, v string) error { return readFileInto(&c.Pulumi.Passphrase, v, true) }},
		{Env: "STAGECOACH_MAX_CONCURRENT_OPERATIONS", Default: "2", Help: "Pulumi processes this replica runs at once",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseInt(&c.Pulumi.MaxConcurrentOperations, v) }},
		{Env: "STAGECOACH_OPERATION_TIMEOUT", Default: "1h", Help: "longest a Pulumi operation (preview, up, destroy) may run; it is then cancelled and reported as timed out",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseDuration(&c.Pulumi.OperationTimeout, v) }},
		{Env: "STAGECOACH_PULUMI_ENV", Default: "AWS_*,AZURE_*,ARM_*,GOOGLE_*,CLOUDSDK_*,KUBECONFIG,DIGITALOCEAN_*,PULUMI_ACCESS_TOKEN,proxies,SSL_CERT_*",
			Help:     "comma-separated names or globs of the bot's variables that Pulumi programs get (`none` for none); STAGECOACH_*, GITHUB_TOKEN, GH_TOKEN and database URLs never pass (see SECURITY.md)",
			Commands: serve,
			set: func(c *Config, v string) error {
				c.Pulumi.Env = []string{}
				if !strings.EqualFold(v, "none") {
					c.Pulumi.Env = splitList(v)
				}
				return nil
			}},
		{Env: "STAGECOACH_PULUMI_USER", Help: "run every Pulumi process as this user (name or uid[:gid]) so PR programs cannot read the bot's files; needs the bot to run as root (see SECURITY.md)",
			Commands: serve,
			set:      func(c *Config, v string) error { c.Pulumi.User = v; return nil }},
		{Env: "STAGECOACH_PULUMI_RUNNER", Help: "Unix socket of the `bot runner` that starts every Pulumi process (serve sends them there; runner listens there), " +
			"so PR programs run in another container without the bot's secrets; the Helm chart sets it (see SECURITY.md)",
			Commands: []string{CommandServe, CommandDoctor, CommandRunner}, Flag: true,
			set: func(c *Config, v string) error { c.Pulumi.Runner = v; return nil }},
		{Env: "STAGECOACH_FILE_BACKEND_SHARED", Default: "false", Help: "with Postgres, allow a file:// state backend: every replica mounts the same directory (NFS), or there is one replica",
			Commands: checked,
			set:      func(c *Config, v string) error { return parseBool(&c.Pulumi.FileBackendShared, v) }},
		{Env: "STAGECOACH_WORKERS", Default: "8", Help: "jobs this replica works at once",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseInt(&c.Jobs.Workers, v) }},
		{Env: "STAGECOACH_RETENTION", Default: "168h", Help: "how long finished jobs and processed deliveries are kept (redeliveries within it are recognised)",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseDuration(&c.Jobs.RetentionPeriod, v) }},
		{Env: "STAGECOACH_LOG_RETENTION", Default: "720h", Help: "how long Pulumi operation logs (/logs/{id}) are kept",
			Commands: serve,
			set:      func(c *Config, v string) error { return parseDuration(&c.Jobs.LogRetention, v) }},
		{Env: "STAGECOACH_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error",
			Commands: []string{CommandServe, CommandRunner}, Flag: true,
			set: func(c *Config, v string) error { c.Log.Level = v; return nil }},
		{Env: "STAGECOACH_LOG_FORMAT", Default: "json", Help: "json or text",
			Commands: []string{CommandServe, CommandRunner}, Flag: true,
			set: func(c *Config, v string) error { c.Log.Format = v; return nil }},
	}
}

// defaults returns the configuration used when no variable is set.
func defaults() Config {
	return Config{
		HTTP:   HTTP{Addr: ":8080", ShutdownTimeout: 30 * time.Second, PublicLogs: true},
		Store:  Store{DataDir: "./.stagecoach"},
		GitHub: GitHub{APIURL: "https://api.github.com/", MaxRetries: 4, MaxRetryWait: time.Minute},
		Pulumi: Pulumi{SecretsProvider: "passphrase", MaxConcurrentOperations: 2, OperationTimeout: time.Hour, Env: append([]string(nil), DefaultPulumiEnv...)},
		Jobs:   Jobs{Workers: 8, RetentionPeriod: 7 * 24 * time.Hour, LogRetention: 30 * 24 * time.Hour},
		Log:    Log{Level: "info", Format: "json"},
	}
}

// Load reads the configuration from getenv, applies defaults, and reports every unparseable
// value at once. It does not call Validate.
func Load(getenv func(string) string) (Config, error) {
	return load(getenv, Settings())
}

// LoadFor is Load for a command that reads only some settings (SettingsOf): the others keep their
// defaults and are not looked at, so a bad value there does not stop the command.
func LoadFor(command string, getenv func(string) string) (Config, error) {
	return load(getenv, SettingsOf(command))
}

func load(getenv func(string) string, settings []Setting) (Config, error) {
	c := defaults()
	var errs []error
	for _, s := range settings {
		v := strings.TrimSpace(getenv(s.Env))
		if v == "" {
			continue
		}
		// A direct value wins over its _FILE variant.
		if base, ok := strings.CutSuffix(s.Env, "_FILE"); ok && strings.TrimSpace(getenv(base)) != "" {
			continue
		}
		if err := s.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Env, err))
		}
	}
	if c.Pulumi.BackendURL == "" {
		abs, err := filepath.Abs(filepath.Join(c.Store.DataDir, "state"))
		if err != nil {
			errs = append(errs, fmt.Errorf("STAGECOACH_DATA_DIR: %w", err))
		}
		c.Pulumi.BackendURL = "file://" + filepath.ToSlash(abs)
	}
	return c, errors.Join(errs...)
}

// WriteTable prints settings with their flag and default, for `--help`.
func WriteTable(w io.Writer, settings []Setting) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tFLAG\tDEFAULT\tMEANING")
	for _, s := range settings {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", s.Env, orDash(s.FlagName(), "--"), orDash(s.Default, ""), s.Help)
	}
	tw.Flush()
}

func orDash(s, prefix string) string {
	if s == "" {
		return "-"
	}
	return prefix + s
}

func readFileInto(dst *string, name string, trim bool) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	s := string(b)
	if trim {
		s = strings.TrimSpace(s)
	}
	if s == "" {
		return fmt.Errorf("%s is empty", name)
	}
	*dst = s
	return nil
}

func parseDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 30s or 5m", v)
	}
	if d < 0 {
		return fmt.Errorf("%q must not be negative", v)
	}
	*dst = d
	return nil
}

func parseBool(dst *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false", v)
	}
	*dst = b
	return nil
}

func parseInt(dst *int, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	*dst = n
	return nil
}

func parseInt64(dst *int64, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	*dst = n
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
