package engine

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Defaults applied by New to zero Config fields.
const (
	// DefaultSecretsProvider is the secrets provider used when Config.SecretsProvider is empty.
	DefaultSecretsProvider = "passphrase"
	// DefaultMaxConcurrent is the number of operations that may run Pulumi at once per Runner.
	DefaultMaxConcurrent = 2
	// DefaultLeaseTTL is how long a stack lease lasts without renewal.
	DefaultLeaseTTL = 2 * time.Minute
	// DefaultLeasePoll is the longest pause between attempts to take a busy stack lease.
	DefaultLeasePoll = 2 * time.Second
	// DefaultOperationTimeout bounds one Pulumi operation once it runs: real cloud updates take
	// minutes (NAT gateways, databases, clusters), so the default is generous.
	DefaultOperationTimeout = time.Hour
	// DefaultCancelGrace is how long a cancelled CLI may take to stop before it is killed.
	DefaultCancelGrace = 10 * time.Second
	// DefaultDIYOrganization qualifies short stack names on DIY backends (file, S3, GCS, Azure Blob, Postgres),
	// which only know this one organization.
	DefaultDIYOrganization = "organization"
)

// Config configures a Runner. New applies the documented defaults to zero fields.
type Config struct {
	// PulumiCommand is the absolute path of the pulumi CLI binary (toolchain.Tools.Pulumi). Required.
	PulumiCommand string
	// LanguageDirs are directories prepended to the PATH of every Pulumi process so the CLI finds its
	// language hosts, such as pulumi-language-yaml (toolchain.Tools.LanguageDirs). Default none; the
	// directory of PulumiCommand is always prepended after them.
	LanguageDirs []string
	// BackendURL is where stack state lives: "file:///abs/dir", "s3://bucket/prefix", "https://api.pulumi.com"…
	// Required; the process config defaults it to "file://<data dir>/state". A file backend directory
	// is created by New when missing.
	BackendURL string
	// SecretsProvider encrypts stack secrets: "passphrase" or a provider URL such as "awskms://alias/x",
	// "gcpkms://…", "azurekeyvault://…", "hashivault://…". Default "passphrase".
	SecretsProvider string
	// Passphrase unlocks the passphrase secrets provider; it reaches Pulumi processes as
	// PULUMI_CONFIG_PASSPHRASE and is masked in every log. Required when SecretsProvider is "passphrase".
	Passphrase string
	// PulumiHome is the isolated PULUMI_HOME of every Pulumi process (plugins, credentials, workspace
	// metadata). Required, absolute; created by New when missing.
	PulumiHome string
	// WorkDir is the root under which each operation gets its own workspace directory, removed when the
	// operation ends. Required, absolute; created by New when missing.
	WorkDir string
	// MaxConcurrent caps how many operations of this Runner run Pulumi at once; further operations wait
	// for a slot. Default 2.
	MaxConcurrent int
	// LeaseTTL is how long a stack lease lasts without renewal. The lease is renewed every third of it
	// while an operation runs; an operation whose lease cannot be renewed is cancelled. Default 2m.
	LeaseTTL time.Duration
	// LeasePoll is the longest pause between attempts to take a stack lease another operation holds.
	// Attempts start quickly and back off to this. Default 2s.
	LeasePoll time.Duration
	// OperationTimeout bounds one operation from the moment its CLI starts (waiting for the stack's
	// lease or a slot does not count); the CLI is then cancelled gracefully and the result says the
	// operation timed out. Default DefaultOperationTimeout.
	OperationTimeout time.Duration
	// CancelGrace is how long the CLI of a cancelled operation may take to stop after SIGINT (it cancels
	// gracefully and releases its lock) before it is killed. Default 10s.
	CancelGrace time.Duration
	// Organization qualifies short stack names ("pr-12" becomes "<Organization>/<project>/pr-12").
	// Default "organization" for DIY backends; for Pulumi Cloud, empty leaves short names to the
	// CLI's default organization.
	Organization string
	// Env holds extra environment variables for Pulumi processes, such as cloud credentials. Values of
	// variables whose names suggest a secret (TOKEN, SECRET, PASSWORD, KEY, CREDENTIAL…) are masked in
	// logs. It may not set the variables the Runner manages (PULUMI_HOME, PULUMI_BACKEND_URL,
	// PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE, PATH, HOME, TMPDIR) nor the bot's own
	// (STAGECOACH_*). Default none.
	Env map[string]string
	// InheritEnv names the variables of this process's environment that Pulumi processes get, as names
	// or globs (path.Match syntax, case-sensitive: "AWS_*", "KUBECONFIG"). Nothing else is inherited
	// except PATH and the locale (LANG, LC_*, TZ); HOME and TMPDIR point into PulumiHome. STAGECOACH_*,
	// GITHUB_TOKEN, GH_TOKEN and database URLs are never passed, whatever a glob matches. nil means
	// DefaultInheritEnv; an empty non-nil slice passes nothing.
	InheritEnv []string
	// User runs every Pulumi process as another user: a user name or uid[:gid]. It needs this process
	// to run as root. PulumiHome and a file backend's directory then belong to that user, each operation's
	// directory too, and the CLI and its plugins are copied to <WorkDir>/bin so that user can run them;
	// every directory above them must be readable and searchable by that user (the CLI lists them; New
	// says which is not). Default ""
	// (this process's user).
	User string
	// Runner is the Unix socket of a `bot runner` that starts every Pulumi process instead of this
	// process (package remoteexec): it runs in its own container without the bot's secrets, which is
	// how the Helm chart isolates pull requests' programs under Pod Security "restricted". The runner
	// must see WorkDir, PulumiHome and a file backend's directory at the same paths, and run the same
	// CLI. Exclusive with User. Default "" (Pulumi runs as a child of this process).
	Runner string
}

// managedEnv are the environment variables the Runner sets itself.
var managedEnv = []string{
	"PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "PATH",
}

// Validate reports every problem with the configuration at once, after defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.PulumiCommand == "" {
		add("pulumi command is required (the path of the pulumi CLI)")
	} else if !filepath.IsAbs(c.PulumiCommand) {
		add("pulumi command %q must be an absolute path", c.PulumiCommand)
	}
	for _, d := range c.LanguageDirs {
		if !filepath.IsAbs(d) {
			add("language dir %q must be an absolute path", d)
		}
	}
	if c.BackendURL == "" {
		add("backend URL is required (e.g. file:///var/lib/stagecoach/state or s3://bucket/prefix)")
	} else if u, err := url.Parse(c.BackendURL); err != nil || u.Scheme == "" {
		add("backend URL %q is not a URL with a scheme (e.g. file:///var/lib/stagecoach/state)", c.BackendURL)
	} else if u.Scheme == "file" && !filepath.IsAbs(fileBackendDir(u)) {
		add("file backend URL %q must name an absolute directory (file:///abs/dir)", c.BackendURL)
	}
	if c.SecretsProvider != DefaultSecretsProvider && !strings.Contains(c.SecretsProvider, "://") {
		add("secrets provider %q must be %q or a provider URL such as awskms://alias/name", c.SecretsProvider, DefaultSecretsProvider)
	}
	if c.SecretsProvider == DefaultSecretsProvider && c.Passphrase == "" {
		add("passphrase is required with the passphrase secrets provider (PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE)")
	}
	if c.PulumiHome == "" || !filepath.IsAbs(c.PulumiHome) {
		add("pulumi home %q must be an absolute directory", c.PulumiHome)
	}
	if c.Runner != "" && !filepath.IsAbs(c.Runner) {
		add("runner socket %q must be an absolute path", c.Runner)
	}
	if c.Runner != "" && c.User != "" {
		add("a Pulumi runner and a Pulumi user exclude each other: the runner already isolates Pulumi (leave the user empty)")
	}
	if c.WorkDir == "" || !filepath.IsAbs(c.WorkDir) {
		add("work dir %q must be an absolute directory", c.WorkDir)
	}
	if c.MaxConcurrent < 0 {
		add("max concurrent operations %d must be positive", c.MaxConcurrent)
	}
	if c.LeaseTTL < 3*time.Second {
		add("lease TTL %s is too short (at least 3s; it is renewed every third of it)", c.LeaseTTL)
	}
	if c.LeasePoll < 0 {
		add("lease poll %s must not be negative", c.LeasePoll)
	}
	if c.CancelGrace < 0 {
		add("cancel grace %s must not be negative", c.CancelGrace)
	}
	for k := range c.Env {
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			add("env variable name %q is invalid", k)
		case containsFold(engineEnv, k):
			add("env may not set %s: the runner manages it", k)
		case deniedEnvName(k):
			add("env may not set %s: Pulumi programs must never see the bot's own settings, GitHub tokens or database URLs", k)
		}
	}
	for _, p := range c.InheritEnv {
		if err := validEnvPattern(p); err != nil {
			errs = append(errs, err)
		}
	}
	if c.User != "" && strings.TrimSpace(c.User) != c.User {
		add("pulumi user %q has surrounding spaces", c.User)
	}
	return errors.Join(errs...)
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.SecretsProvider == "" {
		c.SecretsProvider = DefaultSecretsProvider
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.LeasePoll == 0 {
		c.LeasePoll = DefaultLeasePoll
	}
	if c.OperationTimeout <= 0 {
		c.OperationTimeout = DefaultOperationTimeout
	}
	if c.CancelGrace == 0 {
		c.CancelGrace = DefaultCancelGrace
	}
	if c.InheritEnv == nil {
		c.InheritEnv = DefaultInheritEnv
	}
	if c.Organization == "" && c.diy() {
		c.Organization = DefaultDIYOrganization
	}
	return c
}

// diy reports whether the backend is a DIY backend (state in a bucket, directory or database),
// where the stack lock is only a file that a crashed process leaves behind.
func (c Config) diy() bool {
	u, err := url.Parse(c.BackendURL)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "file", "s3", "gs", "azblob", "postgres", "postgresql":
		return true
	}
	return false
}

// backendKey names the backend in lease keys: the URL without credentials or query.
func (c Config) backendKey() string {
	u, err := url.Parse(c.BackendURL)
	if err != nil {
		return c.BackendURL
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// fileBackendDir returns the directory of a file:// backend URL.
func fileBackendDir(u *url.URL) string {
	if u.Host != "" && u.Host != "localhost" {
		// file://relative/dir parses the first element as a host.
		return u.Host + u.Path
	}
	return u.Path
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
