package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/config"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := newCmdline(config.CommandServe, "", "Runs the webhook server (POST /webhooks/github, /healthz, /readyz, /metrics, /) and the job workers until interrupted.", stdout)
	if done, err := c.parseArgs(args, 0); done {
		return err
	}
	if err := bot.HardenProcess(); err != nil {
		return err
	}
	cfg, err := loadConfig(c.getenv(getenv))
	if err != nil {
		return err
	}
	if err := cfg.ValidateServe(); err != nil {
		return fmt.Errorf("the settings are not usable:\n%w", err)
	}
	if err := bot.CheckDataDir(cfg.Store.DataDir); err != nil {
		return err
	}
	logger := newLogger(cfg.Log, stdout)
	b, err := bot.New(ctx, bot.Options{Config: cfg, Logger: logger, Version: version()})
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		b.Stop()
		return err
	}
	select {
	case <-ctx.Done():
		logger.Info("stopping: finishing requests and running jobs", "timeout", cfg.HTTP.ShutdownTimeout)
	case err := <-b.Done():
		if err != nil {
			logger.Error("the HTTP server stopped", "error", err)
		}
	}
	return b.Stop()
}
