package bot

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// newEngine finds the Pulumi CLI (never building it: `bot toolchain install` does that) and
// builds the runner over the store's leases and logs.
func newEngine(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (*engine.Runner, error) {
	tools, err := toolchain.Find(ctx, toolchain.Options{Command: cfg.Pulumi.Command, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("%w; run `bot toolchain install` or set STAGECOACH_PULUMI_COMMAND", err)
	}
	return engine.New(engine.Config{
		PulumiCommand:   tools.Pulumi,
		LanguageDirs:    tools.LanguageDirs,
		BackendURL:      cfg.Pulumi.BackendURL,
		SecretsProvider: cfg.Pulumi.SecretsProvider,
		Passphrase:      cfg.Pulumi.Passphrase,
		PulumiHome:      filepath.Join(cfg.Store.DataDir, "pulumi-home"),
		WorkDir:         filepath.Join(cfg.Store.DataDir, "work"),
		MaxConcurrent:   cfg.Pulumi.MaxConcurrentOperations,
		// A killed replica's stack leases free up within this, so the survivor takes over quickly.
		LeaseTTL:         lease.DefaultTTL,
		OperationTimeout: cfg.Pulumi.OperationTimeout,
		InheritEnv:       cfg.Pulumi.Env,
		User:             cfg.Pulumi.User,
		Runner:           cfg.Pulumi.Runner,
	}, st, engineLogs{st}, log, nil)
}

// engineLogs stores the engine's operation logs.
type engineLogs struct{ st *store.Store }

func (l engineLogs) SaveLog(ctx context.Context, o engine.OperationLog) (string, error) {
	return l.st.SaveLog(ctx, store.OperationLog{Stack: o.Stack, Kind: o.Kind, Text: o.Text,
		Started: o.Started, Finished: o.Finished, Succeeded: o.Succeeded})
}
