package chart_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/config"
	corev1 "k8s.io/api/core/v1"
)

// knownSettings are the variables the bot reads.
func knownSettings() map[string]bool {
	known := map[string]bool{}
	for _, s := range config.Settings() {
		known[s.Env] = true
	}
	return known
}

// Every variable the chart sets on a container is a setting the bot knows: a misspelt one would be
// ignored without a word. Variables of extraEnv are the user's (cloud credentials) and not checked.
func TestChartSetsOnlySettingsTheBotKnows(t *testing.T) {
	t.Parallel()
	known := knownSettings()
	eachVariation(t, func(t *testing.T, v variation) {
		spec := &pod(t, v.values).Spec
		for _, c := range allContainers(spec) {
			for _, e := range c.Env {
				if !known[e.Name] && !userEnv(e.Name) {
					t.Errorf("container %s sets %s, which is no setting of the bot (internal/config/setting.go)", c.Name, e.Name)
				}
			}
		}
	})
}

// userEnv are the names the variations give extraEnv.
func userEnv(name string) bool { return name == "AWS_REGION" || name == "PULUMI_ACCESS_TOKEN" }

// The chart's two lists of settings (templates/_settings.tpl: set from values, or settable through
// .Values.settings) name every setting of the bot exactly once: a setting added to the bot must be
// sorted into one of them, or `settings` would refuse it.
func TestChartListsEverySettingOnce(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(chartDir, "templates", "_settings.tpl"))
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?s)define "stagecoach\.(\w+)" -\}\}\s*(.*?)\s*\{\{- end`).FindAllStringSubmatch(string(b), -1) {
		lists[m[1]] = strings.Fields(m[2])
	}
	managed, settable := lists["managedSettings"], lists["settableSettings"]
	if len(managed) < 5 || len(settable) < 5 {
		t.Fatalf("read %d managed and %d settable settings from _settings.tpl; the test no longer reads it right", len(managed), len(settable))
	}
	known := knownSettings()
	seen := map[string]string{}
	for list, names := range map[string][]string{"managedSettings": managed, "settableSettings": settable} {
		for _, name := range names {
			if other, ok := seen[name]; ok {
				t.Errorf("%s is in both %s and %s", name, other, list)
			}
			seen[name] = list
			if !known[name] {
				t.Errorf("_settings.tpl's %s names %s, which is no setting of the bot", list, name)
			}
		}
	}
	for name := range known {
		if _, ok := seen[name]; !ok {
			t.Errorf("the bot's setting %s is in neither list of templates/_settings.tpl: add it to settableSettings, or to managedSettings if the chart sets it", name)
		}
	}
}

// What `bot serve` cannot work without, where the bot says so, and where the chart's pod gets it.
// The test gives every Secret the chart refers to a value that names it ("<secret>/<key>"), loads
// the bot container's environment as the kubelet would lay it out (values, secretKeyRefs, secret
// files) through the bot's own config loader, and checks that each requirement arrives, from the
// right Secret key.
var requirements = []struct {
	what, why string
	got       func(config.Config) string
	want      func(v variation) string
}{
	{"the webhook secret", "config.ValidateServe refuses to start without it",
		func(c config.Config) string { return c.HTTP.WebhookSecret },
		func(variation) string { return "stagecoach-github/webhook-secret" }},
	{"the App id", "without it the App is not configured: /readyz stays 503 and `bot doctor` fails",
		func(c config.Config) string { return strconv.FormatInt(c.GitHub.AppID, 10) },
		func(variation) string { return "123456" }},
	{"the App's private key", "as the App id; config.Validate refuses an App id without it",
		func(c config.Config) string { return strings.TrimSpace(string(c.GitHub.PrivateKey)) },
		func(variation) string { return "stagecoach-github/private-key.pem" }},
	{"the passphrase", "the engine refuses the passphrase secrets provider without it",
		func(c config.Config) string {
			if c.Pulumi.SecretsProvider != "passphrase" {
				return "(" + c.Pulumi.SecretsProvider + ")"
			}
			return c.Pulumi.Passphrase
		},
		func(v variation) string {
			if strings.Contains(v.values, "awskms://") {
				return "(awskms://alias/stagecoach)"
			}
			return "stagecoach-pulumi/passphrase"
		}},
	{"the database", "Postgres for several replicas; SQLite in the data directory for one",
		func(c config.Config) string { return c.Store.DatabaseURL },
		func(v variation) string {
			if !v.postgres {
				return ""
			}
			if strings.Contains(v.values, "key: STAGECOACH_DATABASE_URL") {
				return "postgres://stagecoach-db/STAGECOACH_DATABASE_URL"
			}
			return "postgres://stagecoach-db/url"
		}},
	{"the data directory", "the volume mounted at /data",
		func(c config.Config) string { return c.Store.DataDir },
		func(variation) string { return "/data" }},
	{"the state backend", "a shared one with Postgres; file:///data/state on the volume otherwise",
		func(c config.Config) string { return c.Pulumi.BackendURL },
		func(v variation) string {
			if m := regexp.MustCompile(`backendURL: "?([^"\n]+)`).FindStringSubmatch(v.values); m != nil {
				return m[1]
			}
			return "file:///data/state"
		}},
}

func TestBotContainerHasEveryRequiredSetting(t *testing.T) {
	t.Parallel()
	eachVariation(t, func(t *testing.T, v variation) {
		spec := &pod(t, v.values).Spec
		getenv := podEnv(t, spec, container(t, spec, "bot"))
		cfg, err := config.LoadFor(config.CommandServe, getenv)
		if err != nil {
			t.Fatalf("the bot cannot load the settings the chart gives it: %v", err)
		}
		if err := cfg.ValidateServe(); err != nil {
			t.Errorf("`bot serve` would refuse the settings the chart gives it: %v", err)
		}
		for _, r := range requirements {
			if got, want := r.got(cfg), r.want(v); got != want {
				t.Errorf("%s (%s): got %q, want %q", r.what, r.why, got, want)
			}
		}
		runnerGetenv := podEnv(t, spec, container(t, spec, "pulumi"))
		for _, name := range runnerEnv {
			if a, b := getenv(name), runnerGetenv(name); a != b || a == "" {
				t.Errorf("%s: the bot has %q, the runner %q; both need the same", name, a, b)
			}
		}
	})
}

// podEnv returns the environment of a container as the kubelet lays it out, every Secret it refers to
// holding "<secret>/<key>" under each key (a postgres:// URL for the database's): values, values from
// secretKeyRefs, and variables naming files of secret volumes, which it writes to a temporary
// directory and points the variable at instead.
func podEnv(t *testing.T, spec *corev1.PodSpec, c *corev1.Container) func(string) string {
	t.Helper()
	secretValue := func(secret, key string) string {
		if strings.Contains(secret, "-db") {
			return "postgres://" + secret + "/" + key
		}
		return secret + "/" + key
	}
	dir := t.TempDir()
	files := map[string]string{} // path in the container → path here
	for _, m := range c.VolumeMounts {
		v, err := volume(spec, m.Name)
		if err != nil || v.Secret == nil {
			continue
		}
		for _, item := range v.Secret.Items {
			local := filepath.Join(dir, m.Name, item.Path)
			if err := os.MkdirAll(filepath.Dir(local), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(local, []byte(secretValue(v.Secret.SecretName, item.Key)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			files[filepath.Join(m.MountPath, item.Path)] = local
		}
	}
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secretValue(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		case e.ValueFrom != nil:
			t.Fatalf("container %s takes %s from %v, which this test does not lay out", c.Name, e.Name, e.ValueFrom)
		case strings.HasSuffix(e.Name, "_FILE"):
			local, ok := files[e.Value]
			if !ok {
				t.Fatalf("container %s: %s=%s names no file of a secret volume it mounts", c.Name, e.Name, e.Value)
			}
			env[e.Name] = local
		default:
			env[e.Name] = e.Value
		}
	}
	return func(name string) string { return env[name] }
}
