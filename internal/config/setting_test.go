package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSettingsTable(t *testing.T) {
	t.Parallel()
	commands := []string{CommandServe, CommandDoctor, CommandSchedule, CommandToolchain, CommandDemo, CommandSetup, CommandRunner}
	flags := map[string]string{}
	for _, s := range Settings() {
		if !slices.Contains(s.Commands, CommandServe) {
			t.Errorf("%s: serve reads every setting, but Commands is %q", s.Env, s.Commands)
		}
		for _, c := range s.Commands {
			if !slices.Contains(commands, c) {
				t.Errorf("%s: %q is not a command", s.Env, c)
			}
		}
		if !s.Flag {
			if s.FlagName() != "" {
				t.Errorf("%s has no flag but FlagName %q", s.Env, s.FlagName())
			}
			continue
		}
		// The database URL is the one exception: often it holds no password (peer or IAM auth), and
		// the flag's help warns that one in it shows in the process list.
		if s.Secret && s.Env != "STAGECOACH_DATABASE_URL" {
			t.Errorf("%s is a secret; a flag would show it to every user of the machine", s.Env)
		}
		if other, dup := flags[s.FlagName()]; dup {
			t.Errorf("--%s is the flag of %s and %s", s.FlagName(), other, s.Env)
		}
		flags[s.FlagName()] = s.Env
	}
	for flag, env := range map[string]string{"addr": "STAGECOACH_ADDR", "data-dir": "STAGECOACH_DATA_DIR",
		"database-url": "STAGECOACH_DATABASE_URL", "public-url": "STAGECOACH_PUBLIC_URL"} {
		if flags[flag] != env {
			t.Errorf("--%s is the flag of %q, want %s", flag, flags[flag], env)
		}
	}
	if got := SettingsOf("config validate"); len(got) != 0 {
		t.Errorf("config validate reads no settings, SettingsOf says %d", len(got))
	}
}

// The precedence below the flags: a variable wins over its _FILE form, either over the default.
func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"the variable wins over its _FILE form", map[string]string{"STAGECOACH_WEBHOOK_SECRET": "from-env", "STAGECOACH_WEBHOOK_SECRET_FILE": file}, "from-env"},
		{"the _FILE form when the variable is unset", map[string]string{"STAGECOACH_WEBHOOK_SECRET_FILE": file}, "from-file"},
		{"the default when neither is set", nil, ""},
	} {
		c, err := Load(func(k string) string { return tc.env[k] })
		if err != nil || c.HTTP.WebhookSecret != tc.want {
			t.Errorf("%s: secret %q, err %v; want %q", tc.name, c.HTTP.WebhookSecret, err, tc.want)
		}
	}
}

func TestLoadForReadsOnlyTheCommandsSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"STAGECOACH_WORKERS": "many", "STAGECOACH_DATA_DIR": "/var/lib/sc"}
	getenv := func(k string) string { return env[k] }
	if _, err := Load(getenv); err == nil || !strings.Contains(err.Error(), "STAGECOACH_WORKERS") {
		t.Fatalf("Load: err = %v, want the bad STAGECOACH_WORKERS", err)
	}
	c, err := LoadFor(CommandSchedule, getenv)
	if err != nil || c.Store.DataDir != "/var/lib/sc" || c.Jobs.Workers != 8 {
		t.Fatalf("LoadFor(schedule): data dir %q, workers %d, err %v", c.Store.DataDir, c.Jobs.Workers, err)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	c := defaults()
	c.Pulumi.BackendURL = "file:///state"
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	c.HTTP.Addr, c.Store.DataDir, c.GitHub.APIURL, c.Pulumi.MaxConcurrentOperations, c.Jobs.Workers, c.Log.Level = "", "", "nope", 0, 0, "loud"
	err := c.Validate()
	for _, env := range []string{"STAGECOACH_ADDR", "STAGECOACH_DATA_DIR", "STAGECOACH_GITHUB_API_URL", "STAGECOACH_MAX_CONCURRENT_OPERATIONS", "STAGECOACH_WORKERS", "STAGECOACH_LOG_LEVEL"} {
		if err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("Validate does not report %s: %v", env, err)
		}
	}
}
