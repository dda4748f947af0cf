// Package feature holds what the features (internal/ephemeral, internal/promotion,
// internal/schedule) are built from alike: the consumer interfaces of the job queue, the source
// fetcher and the repository config loader, the Deps every feature service takes, and the one
// way to read a repository's config that a feature may act on.
package feature

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/source"
)

// Inserter enqueues jobs; *jobs.Inserter satisfies it.
type Inserter interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Sources fetches a repository's Pulumi project at an exact commit; *source.Fetcher satisfies
// it (a githubapi.Client is a source.Archiver).
type Sources interface {
	Project(ctx context.Context, gh source.Archiver, owner, repo, sha, projectPath string) (string, error)
}

// Configs loads a repository's configuration from its default branch; *repoconfig.Loaders
// satisfies it.
type Configs interface {
	Load(ctx context.Context, installation int64, repo string) (repoconfig.Loaded, error)
}

// Deps are what the ephemeral and promotion services are built from alike; each feature's
// Options embeds them next to its own records and engine.
type Deps struct {
	// Leases keep one job on a subject (a PR, an environment's queue) at a time, across replicas.
	Leases lease.Table
	Jobs   Inserter
	GitHub githubapi.Installations
	// Sources fetches the Pulumi project at the commit to deploy.
	Sources Sources
	Configs Configs
	// Logger defaults to one that discards.
	Logger *slog.Logger
	// Now is the feature's clock (TTLs, gates). Default time.Now.
	Now func() time.Time
	// PublicURL is the base URL for log links (config.HTTP.LogLinkBase); "" links to nothing.
	PublicURL string
}

// WithDefaults returns d with the defaults of its unset fields.
func (d Deps) WithDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// LogURL links to an operation log, "" without a public URL or log.
func (d Deps) LogURL(logID string) string { return render.LogLink(d.PublicURL, logID) }

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
