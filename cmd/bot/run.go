package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/config"
)

// errReported means the command already printed why it failed; main only sets the exit code.
var errReported = errors.New("failed")

const usage = `stagecoach — Pulumi pull-request environments, promotions and sleep schedules, as a GitHub App.

Usage:
  bot serve                     run the webhook server and the job workers
  bot doctor                    check the setup: Pulumi CLI, backend, secrets, database, GitHub App
  bot config validate [FILE]    check a .stagecoach.yaml (default ./.stagecoach.yaml); exit 1 on errors
  bot schedule [FILE]           sleep/wake state, overrides, next transitions and savings per environment
  bot toolchain install         find or build the pinned Pulumi CLI and YAML language host
  bot demo                      play a pull request's life against a simulated GitHub and a sample project
  bot version                   print the version

Every command takes --help. Settings come from the environment:
`

// run is the whole program behind main, with its inputs passed in so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		writeUsage(stdout)
		return fmt.Errorf("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		writeUsage(stdout)
		return nil
	case "version", "--version":
		fmt.Fprintln(stdout, "stagecoach", version())
		return nil
	case "serve":
		return serve(ctx, rest, getenv, stdout)
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
	}
	writeUsage(stdout)
	return fmt.Errorf("unknown command %q", cmd)
}

func writeUsage(w io.Writer) {
	fmt.Fprint(w, usage)
	config.WriteHelp(w)
}

// newFlags returns a flag set for a subcommand whose --help prints synopsis and the settings.
func newFlags(name, synopsis string, stdout io.Writer, withSettings bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: bot %s\n\n%s\n", name, synopsis)
		if hasFlags(fs) {
			fmt.Fprintln(stdout, "\nFlags:")
			fs.PrintDefaults()
		}
		if withSettings {
			fmt.Fprintln(stdout, "\nSettings (environment variables):")
			config.WriteHelp(stdout)
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parseFlags parses args; --help is a success that ends the command.
func parseFlags(fs *flag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return true, err
	}
	return false, nil
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
