package engine

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultInheritEnv lists the variables of this process's environment that reach Pulumi processes when
// Config.InheritEnv is nil: the credentials and settings of the usual clouds, Pulumi Cloud's access token,
// proxies and CA bundles. A pull request's program can read every one of them, by design: it deploys with them.
var DefaultInheritEnv = []string{
	"AWS_*", "AZURE_*", "ARM_*", "GOOGLE_*", "CLOUDSDK_*", "KUBECONFIG", "DIGITALOCEAN_*",
	"PULUMI_ACCESS_TOKEN",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// localeEnv are passed on whenever they are set: they change how tools format text, never what they can reach.
var localeEnv = []string{"LANG", "LC_*", "TZ"}

// deniedEnv never reach a Pulumi process from this process's environment, whatever InheritEnv says:
// the bot's own settings and secrets, GitHub tokens and database addresses. Matched case-insensitively.
var deniedEnv = []string{
	"STAGECOACH_*", "GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN",
	"*DATABASE_URL*", "PGPASSWORD", "PGPASSFILE", "PGSERVICEFILE",
}

// engineEnv are set by the Runner for every Pulumi process and never taken from this process's
// environment: the managed variables plus HOME and TMPDIR, which point into the Runner's own directories.
var engineEnv = append([]string{"HOME", "TMPDIR"}, managedEnv...)

// deniedEnvName reports whether name may never reach a Pulumi process from the bot's environment.
func deniedEnvName(name string) bool {
	upper := strings.ToUpper(name)
	for _, pattern := range deniedEnv {
		if ok, _ := path.Match(pattern, upper); ok {
			return true
		}
	}
	return false
}

// matchEnv reports whether name matches one of the glob patterns (path.Match syntax, case-sensitive,
// as environment names are).
func matchEnv(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// validEnvPattern checks an InheritEnv entry.
func validEnvPattern(p string) error {
	if p == "" || strings.ContainsAny(p, "=\x00 ") {
		return fmt.Errorf("inherit env pattern %q is not a variable name or glob", p)
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("inherit env pattern %q: %w", p, err)
	}
	return nil
}

// childEnv builds the whole environment of a Pulumi process. Nothing of this process's environment is
// inherited except PATH, the locale, and the variables inherit names (never a denied one); then home and
// tmp, then additional (what the workspace sets: PULUMI_HOME, the backend, the passphrase, Config.Env),
// then PATH with pathPrefix in front.
func childEnv(environ, inherit, pathPrefix []string, home, tmp string, additional []string) []string {
	var env []string
	parentPath := ""
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if k == "PATH" {
			parentPath = v
			continue
		}
		if deniedEnvName(k) || containsFold(engineEnv, k) {
			continue
		}
		if matchEnv(localeEnv, k) || matchEnv(inherit, k) {
			env = append(env, kv)
		}
	}
	if home != "" {
		env = append(env, "HOME="+home)
	}
	if tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	for _, kv := range additional {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || strings.HasPrefix(strings.ToUpper(k), "STAGECOACH_") {
			continue
		}
		env = append(env, kv)
	}
	dirs := append(append([]string(nil), pathPrefix...), filepath.SplitList(parentPath)...)
	return append(env, "PATH="+strings.Join(dirs, string(os.PathListSeparator)), "PULUMI_AUTOMATION_API=true")
}
