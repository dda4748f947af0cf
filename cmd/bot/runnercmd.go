package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/remoteexec"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func runnerCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := newCmdline(config.CommandRunner, "", "Runs the Pulumi CLI for `bot serve` on the Unix socket STAGECOACH_PULUMI_RUNNER names, with exactly the "+
		"arguments, directory and environment the bot sends, until interrupted. Run it in a container (or as a user) that has none of "+
		"the bot's secret files or its database, sharing with the bot only the work, pulumi-home and file-state directories at the same "+
		"paths: a pull request's program then reaches nothing of the bot's (SECURITY.md). The Helm chart runs it as the pod's pulumi container.", stdout)
	if done, err := c.parseArgs(args, 0); done {
		return err
	}
	if err := bot.HardenProcess(); err != nil {
		return err
	}
	cfg, err := config.LoadFor(config.CommandRunner, c.getenv(getenv))
	if err != nil {
		return fmt.Errorf("reading settings:\n%w", err)
	}
	if cfg.Pulumi.Runner == "" {
		return usagef("runner: set STAGECOACH_PULUMI_RUNNER (or --pulumi-runner) to the socket to listen on, the same path `bot serve` is given")
	}
	logger := newLogger(cfg.Log, stdout)
	tools, err := toolchain.Find(ctx, toolchain.Options{Command: cfg.Pulumi.Command, Logger: logger})
	if err != nil {
		return fmt.Errorf("runner: %w; run `bot toolchain install` or set STAGECOACH_PULUMI_COMMAND", err)
	}
	ln, err := remoteexec.Listen(cfg.Pulumi.Runner)
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	if os.Geteuid() == 0 {
		logger.Warn("runner: running as root; pull requests' programs run as root too (run the runner as an unprivileged user)")
	}
	logger.Info("runner: listening", "socket", cfg.Pulumi.Runner, "pulumi", tools.Pulumi)
	return (&remoteexec.Server{Command: tools.Pulumi, Log: logger}).Serve(ctx, ln)
}
