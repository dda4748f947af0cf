// Package feature holds what the features (internal/ephemeral, internal/promotion,
// internal/schedule) are built from alike: the consumer interfaces of the job queue, the source
// fetcher and the repository config loader, the Deps every feature service takes, the one way to
// read a repository's config that a feature may act on, and the shape of a job that converges a
// subject under its lease.
package feature

import (
	"log/slog"
	"time"

	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/render"
)

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
