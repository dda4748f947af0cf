package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/config"
)

const usage = `stagecoach — Pulumi pull-request environments, promotions and sleep schedules, as a GitHub App.

Usage:
  bot setup                     create the GitHub App in one click and save its credentials
  bot serve                     run the webhook server and the job workers
  bot runner                    run Pulumi for serve in a container without the bot's secrets
  bot doctor                    check the setup: Pulumi CLI, backend, secrets, database, GitHub App
  bot config validate [FILE]    check a .stagecoach.yaml (default ./.stagecoach.yaml)
  bot schedule [FILE]           sleep/wake state, overrides, next transitions and savings per environment
  bot toolchain install         find or build the pinned Pulumi CLI and YAML language host
  bot demo                      play a pull request's life against a simulated GitHub and a sample project
  bot version                   print the version
  bot help COMMAND              a command's flags and the settings it reads (same as bot COMMAND --help)

Output: doctor, config validate and schedule take -o table (the default) or -o json.

Exit codes:
  0  ok
  1  the command ran and found problems (invalid settings or .stagecoach.yaml, a failed doctor
     check, a repository whose schedules could not be read), or could not do its work
  2  the command line is wrong: unknown command, flag or output format, wrong arguments

Settings come from flags, the environment, files and defaults, in that order: a flag wins over its
variable, a variable over its _FILE form (STAGECOACH_WEBHOOK_SECRET over STAGECOACH_WEBHOOK_SECRET_FILE),
any of them over the default. Each command's --help lists only the settings it reads; all of them:
`

// run is the whole program behind main, with its inputs passed in so tests can drive it.
// main turns its error into the exit code (exitCode).
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		writeUsage(stdout)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help":
		writeUsage(stdout)
		return nil
	case "help":
		if len(rest) == 0 {
			writeUsage(stdout)
			return nil
		}
		return run(ctx, append(slices.Clip(rest), "--help"), getenv, stdout)
	case "version", "--version":
		return versionCommand(rest, stdout)
	case "serve":
		return serve(ctx, rest, getenv, stdout)
	case "runner":
		return runnerCommand(ctx, rest, getenv, stdout)
	case "doctor":
		return doctorCommand(ctx, rest, getenv, stdout)
	case "config":
		return configCommand(ctx, rest, stdout)
	case "toolchain":
		return toolchainCommand(ctx, rest, getenv, stdout)
	case "demo":
		return demoCommand(ctx, rest, getenv, stdout)
	case "schedule":
		return scheduleCommand(ctx, rest, getenv, time.Now, stdout)
	case "setup":
		return setupCommand(ctx, rest, getenv, stdout, os.Stderr)
	}
	return usagef("unknown command %q (see `bot --help` for the commands)", cmd)
}

func writeUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	config.WriteTable(w, config.Settings())
}

func versionCommand(args []string, stdout io.Writer) error {
	c := newCmdline("version", "", "Prints the version and the commit the binary was built from.", stdout)
	if done, err := c.parseArgs(args, 0); done {
		return err
	}
	fmt.Fprintln(stdout, "stagecoach", version())
	return nil
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// loadConfig reads the settings and checks them.
func loadConfig(getenv func(string) string) (config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return cfg, fmt.Errorf("reading settings:\n%w", err)
	}
	return cfg, nil
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// version reports the module version and VCS revision the binary was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		v = strings.TrimSpace(fmt.Sprintf("%s (%.12s%s)", v, rev, dirty))
	}
	return v
}
