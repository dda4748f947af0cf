package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/doctor"
	"github.com/stagecoach/stagecoach/internal/testenv/golden"
)

// commandsWithSettings are the commands config.Settings attributes settings to, as typed.
var commandsWithSettings = [][]string{{"serve"}, {"runner"}, {"doctor"}, {"schedule"}, {"toolchain", "install"}, {"demo"}, {"setup"}}

var envName = regexp.MustCompile(`\b(STAGECOACH|PULUMI_CONFIG)_[A-Z_]+\b`)

func TestCommandHelp(t *testing.T) {
	t.Parallel()

	t.Run("each command's help lists the settings it reads and no other", func(t *testing.T) {
		t.Parallel()
		for _, args := range commandsWithSettings {
			name := strings.Join(args, " ")
			out, err := runCmd(t, nil, append(slices.Clip(args), "--help")...)
			if err != nil || !strings.HasPrefix(out, "Usage: bot "+name) {
				t.Fatalf("%s --help: err = %v, output:\n%s", name, err, out)
			}
			_, table, _ := strings.Cut(out, "Settings it reads")
			var want []string
			for _, s := range config.SettingsOf(name) {
				want = append(want, s.Env)
			}
			got := slices.Compact(slices.Sorted(slices.Values(envName.FindAllString(table, -1))))
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s --help lists the settings\n%v\nwant\n%v", name, got, want)
			}
		}
	})

	t.Run("config validate and version read no settings and say so by listing none", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{"config", "validate", "--help"}, {"version", "--help"}} {
			out, err := runCmd(t, nil, args...)
			if err != nil || !strings.HasPrefix(out, "Usage: bot "+args[0]) {
				t.Fatalf("%v: err = %v, output:\n%s", args, err, out)
			}
			if m := envName.FindString(out); m != "" {
				t.Errorf("%v mentions the setting %s:\n%s", args, m, out)
			}
		}
	})

	t.Run("version --help prints help, not the version", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, nil, "version", "--help")
		if err != nil || strings.Contains(out, "stagecoach ") || !strings.Contains(out, "Usage: bot version") {
			t.Fatalf("err = %v, output:\n%s", err, out)
		}
	})

	t.Run("help COMMAND is COMMAND --help", func(t *testing.T) {
		t.Parallel()
		for _, args := range append(slices.Clip(commandsWithSettings), []string{"config", "validate"}, []string{"version"}, []string{"config"}) {
			want, werr := runCmd(t, nil, append(slices.Clip(args), "--help")...)
			got, gerr := runCmd(t, nil, append([]string{"help"}, args...)...)
			if gerr != nil || werr != nil || got != want {
				t.Errorf("help %v (err %v):\n%s\nwant (err %v):\n%s", args, gerr, got, werr, want)
			}
		}
	})

	t.Run("a command's flags are the flags of its settings", func(t *testing.T) {
		t.Parallel()
		out, _ := runCmd(t, nil, "serve", "--help")
		for _, s := range config.SettingsOf(config.CommandServe) {
			if s.Flag && !strings.Contains(out, "--"+s.FlagName()+" string") {
				t.Errorf("serve --help lacks --%s:\n%s", s.FlagName(), out)
			}
		}
		for _, f := range []string{"--addr", "--database-url", "--data-dir", "--public-url"} {
			if !strings.Contains(out, f+" string") {
				t.Errorf("serve --help lacks %s", f)
			}
		}
	})

	t.Run("bot --help documents the exit codes", func(t *testing.T) {
		t.Parallel()
		out, _ := runCmd(t, nil, "--help")
		for _, want := range []string{"Exit codes:", "  0  ok", "  1  the command ran and found problems", "  2  the command line is wrong"} {
			if !strings.Contains(out, want) {
				t.Errorf("bot --help lacks %q", want)
			}
		}
	})
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	valid := filepath.Join(dir, "valid.yaml")
	if err := os.WriteFile(valid, []byte(scheduleConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	invalid := filepath.Join("testdata", "invalid.stagecoach.yaml")
	// doctor fails fast here: no Pulumi CLI at that path, nothing listening on port 1.
	doctorEnv := map[string]string{"STAGECOACH_DATA_DIR": dir, "STAGECOACH_PULUMI_COMMAND": filepath.Join(dir, "no-pulumi"),
		"STAGECOACH_GITHUB_API_URL": "http://127.0.0.1:1/"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{args: []string{"--help"}, want: exitOK},
		{args: []string{"help"}, want: exitOK},
		{args: []string{"version"}, want: exitOK},
		{args: []string{"version", "--help"}, want: exitOK},
		{args: []string{"config", "validate", valid}, want: exitOK},
		{args: []string{"config", "validate", valid, "-o", "json"}, want: exitOK},
		{args: []string{"schedule", valid}, want: exitOK},
		{args: []string{"schedule", "--output=json", valid}, want: exitOK},
		{args: []string{"schedule", "--data-dir", dir}, want: exitOK}, // no database yet: nothing to report, no problem
		{args: []string{"config", "validate", invalid}, want: exitProblems},
		{args: []string{"config", "validate", invalid, "-o", "json"}, want: exitProblems},
		{args: []string{"config", "validate", filepath.Join(dir, "missing.yaml")}, want: exitProblems},
		{args: []string{"schedule", invalid}, want: exitProblems},
		{args: []string{"schedule", "--", "-o"}, want: exitProblems}, // after --, "-o" is a FILE, which does not exist
		{args: []string{"doctor"}, env: doctorEnv, want: exitProblems},
		{args: []string{"doctor", "-o", "json"}, env: doctorEnv, want: exitProblems},
		{args: []string{"serve", "--data-dir", dir}, want: exitProblems}, // no webhook secret
		{args: nil, want: exitUsage},
		{args: []string{"deploy-everything"}, want: exitUsage},
		{args: []string{"help", "deploy-everything"}, want: exitUsage},
		{args: []string{"version", "extra"}, want: exitUsage},
		{args: []string{"config"}, want: exitUsage},
		{args: []string{"config", "check"}, want: exitUsage},
		{args: []string{"toolchain"}, want: exitUsage},
		{args: []string{"runner"}, want: exitUsage}, // no socket to listen on
		{args: []string{"config", "validate", "a.yaml", "b.yaml"}, want: exitUsage},
		{args: []string{"schedule", "a.yaml", "b.yaml"}, want: exitUsage},
		{args: []string{"schedule", "-o", "yaml", valid}, want: exitUsage},
		{args: []string{"doctor", "--output", "wide"}, want: exitUsage},
		{args: []string{"config", "validate", "-o", "xml", valid}, want: exitUsage},
		{args: []string{"serve", "--no-such-flag"}, want: exitUsage},
		{args: []string{"serve", "--addr="}, want: exitUsage},
		{args: []string{"config", "validate", "--data-dir", dir}, want: exitUsage}, // reads no settings, so takes no setting flags
	} {
		out, err := runCmd(t, tc.env, tc.args...)
		if got := exitCode(err); got != tc.want {
			t.Errorf("bot %s: exit %d (err %v), want %d; output:\n%s", strings.Join(tc.args, " "), got, err, tc.want, out)
		}
	}
}

func TestUsageErrorsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	_, err := runCmd(t, nil, "schedule", "-o", "yaml")
	if err == nil || !strings.Contains(err.Error(), `"yaml" is not an output format; use table or json`) {
		t.Fatalf("err = %v", err)
	}
	_, err = runCmd(t, nil, "deploy-everything")
	if err == nil || !strings.Contains(err.Error(), `unknown command "deploy-everything"`) {
		t.Fatalf("err = %v", err)
	}
}

// The precedence of a setting: flag, then environment, then (for secrets) the _FILE form, then the default.
func TestSettingPrecedence(t *testing.T) {
	t.Parallel()
	flagDir, envDir := t.TempDir(), t.TempDir()
	noDatabase := func(dir string) string { return "No database at " + filepath.Join(dir, "stagecoach.db") }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"a flag wins over the environment", []string{"schedule", "--data-dir", flagDir}, map[string]string{"STAGECOACH_DATA_DIR": envDir}, noDatabase(flagDir)},
		{"the = form works too", []string{"schedule", "--data-dir=" + flagDir}, map[string]string{"STAGECOACH_DATA_DIR": envDir}, noDatabase(flagDir)},
		{"the environment when no flag is given", []string{"schedule"}, map[string]string{"STAGECOACH_DATA_DIR": envDir}, noDatabase(envDir)},
	} {
		out, err := runCmd(t, tc.env, tc.args...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s: err = %v, output lacks %q:\n%s", tc.name, err, tc.want, out)
		}
	}

	t.Run("serve takes --addr and the other flags of its settings", func(t *testing.T) {
		t.Parallel()
		// A flag's value reaches the settings: the bad one given as a flag is the one reported.
		_, err := runCmd(t, map[string]string{"STAGECOACH_LOG_LEVEL": "debug"}, "serve", "--addr", "127.0.0.1:0", "--log-level", "loud")
		if err == nil || !strings.Contains(err.Error(), `STAGECOACH_LOG_LEVEL: "loud"`) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("schedule does not stop at a bad setting it does not read", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, map[string]string{"STAGECOACH_WORKERS": "many", "STAGECOACH_DATA_DIR": envDir}, "schedule")
		if err != nil || !strings.Contains(out, noDatabase(envDir)) {
			t.Fatalf("err = %v, output:\n%s", err, out)
		}
	})
}

func TestOutputFormats(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 20, 30, 0, 0, time.UTC) // as in TestSchedule
	file := filepath.Join(t.TempDir(), ".stagecoach.yaml")
	if err := os.WriteFile(file, []byte(scheduleConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	schedule := func(t *testing.T, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := scheduleCommand(context.Background(), args, func(string) string { return "" }, func() time.Time { return now }, &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}

	t.Run("schedule -o json", func(t *testing.T) {
		t.Parallel()
		golden.Assert(t, filepath.Join("testdata", "schedule.json.golden"), schedule(t, file, "-o", "json"))
	})

	t.Run("table is the default", func(t *testing.T) {
		t.Parallel()
		if def, table := schedule(t, file), schedule(t, "-o", "table", file); def != table || !strings.HasPrefix(def, "ENVIRONMENT") {
			t.Fatalf("default:\n%s\n-o table:\n%s", def, table)
		}
	})

	t.Run("config validate -o json", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, nil, "config", "validate", "-o", "json", filepath.Join("testdata", "invalid.stagecoach.yaml"))
		if !errors.Is(err, errReported) {
			t.Fatalf("err = %v", err)
		}
		golden.Assert(t, filepath.Join("testdata", "config-validate-invalid.json.golden"), out)
	})

	t.Run("doctor -o json", func(t *testing.T) {
		t.Parallel()
		results := []doctor.Result{
			{Check: doctor.Check{Name: "Pulumi CLI", Required: true, Fix: "run `bot toolchain install`"}, Status: doctor.Failed, Detail: "not found"},
			{Check: doctor.Check{Name: "database", Required: true, Fix: "check STAGECOACH_DATABASE_URL"}, Status: doctor.Passed, Detail: "migrations current"},
			{Check: doctor.Check{Name: "backend", Fix: "set credentials"}, Status: doctor.NotChecked, Detail: "not checked: no credentials"},
		}
		var out bytes.Buffer
		if err := writeJSON(&out, doctorJSON(results)); err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join("testdata", "doctor.json.golden"), out.String())
	})

	t.Run("doctor -o json prints every check, a setting that does not parse among them, and exits 1", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		out, err := runCmd(t, map[string]string{"STAGECOACH_DATA_DIR": dir, "STAGECOACH_GITHUB_API_URL": "http://127.0.0.1:1/", "STAGECOACH_WORKERS": "many"},
			"doctor", "-o", "json", "--pulumi-command", filepath.Join(dir, "no-pulumi"))
		if !errors.Is(err, errReported) {
			t.Fatalf("err = %v", err)
		}
		var rep doctorReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if rep.OK || len(rep.Checks) < 2 || rep.Checks[1].Name != "Pulumi CLI" || rep.Checks[1].Status != "fail" || rep.Checks[1].Fix == "" ||
			rep.Checks[0].Name != "settings" || rep.Checks[0].Status != "fail" || !strings.Contains(rep.Checks[0].Detail, "STAGECOACH_WORKERS") {
			t.Fatalf("report: %+v", rep)
		}
	})
}

// `bot schedule` over the repositories the bot serves: one whose .stagecoach.yaml is broken is
// reported as an error and the exit is 1, and the others are still printed.
func TestScheduleLoadErrors(t *testing.T) {
	t.Parallel()
	env := servingRepos(t, map[string]string{"shop": scheduleConfig, "broken": "version: 1\nschedules: [\n"}, nil)

	t.Run("table", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, env, "schedule")
		if exitCode(err) != exitProblems || !strings.Contains(err.Error(), "acme/broken") {
			t.Fatalf("exit %d, err = %v", exitCode(err), err)
		}
		if !strings.Contains(out, "acme/shop dev") || strings.Contains(out, "acme/broken") {
			t.Fatalf("output:\n%s", out)
		}
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, env, "schedule", "-o", "json")
		if exitCode(err) != exitProblems {
			t.Fatalf("exit %d, err = %v", exitCode(err), err)
		}
		var rep scheduleJSON
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if len(rep.Environments) != 2 || len(rep.Errors) != 1 || rep.Errors[0].Repo != "acme/broken" || rep.Errors[0].Error == "" {
			t.Fatalf("report: %+v", rep)
		}
	})
}

// Several replicas on Postgres with a state backend on one replica's disk would orphan stacks: `serve`
// refuses to start, before it touches the database, and says why.
func TestServeRefusesPostgresWithAFileBackend(t *testing.T) {
	t.Parallel()
	env := map[string]string{"STAGECOACH_DATA_DIR": t.TempDir(), "STAGECOACH_WEBHOOK_SECRET": "s",
		"STAGECOACH_DATABASE_URL": "postgres://stagecoach@127.0.0.1:1/none", "PULUMI_CONFIG_PASSPHRASE": "p"}
	out, err := runCmd(t, env, "serve")
	if exitCode(err) != exitProblems || !strings.Contains(fmt.Sprint(err), "orphaned") || !strings.Contains(fmt.Sprint(err), "STAGECOACH_FILE_BACKEND_SHARED=true") {
		t.Fatalf("serve: exit %d, err %v, output %s", exitCode(err), err, out)
	}
}
