package feature

import (
	"context"
	"errors"
	"fmt"

	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

// Config loads repo's configuration for a feature to act on. A repository that has not opted in
// (no file) or whose file is broken (the config check reports that on its PRs) gives a Loaded
// with a nil Config and no error: the feature stays quiet.
func Config(ctx context.Context, configs Configs, installation int64, repo string) (repoconfig.Loaded, error) {
	loaded, err := configs.Load(ctx, installation, repo)
	var verr *repoconfig.ValidationError
	switch {
	case errors.Is(err, repoconfig.ErrNotFound), errors.As(err, &verr):
		return repoconfig.Loaded{}, nil
	case err != nil:
		return repoconfig.Loaded{}, fmt.Errorf("loading the configuration of %s: %w", repo, err)
	}
	return loaded, nil
}

// Converge works a feature's subject under its lease (lease.Converge). A failure is logged on
// s.Logger as failed (which says what failed and that it is retried) and the job succeeds: the
// lease is parked for a growing pause and the feature's Resume queues the subject again. Only a
// cancelled job returns its error.
func Converge(ctx context.Context, leases lease.Table, s lease.Subject, failed string) error {
	err := lease.Converge(ctx, leases, s)
	if err != nil && ctx.Err() == nil {
		s.Logger.Warn(failed, "error", err)
		return nil
	}
	return err
}
