package bot

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/configcheck"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/source"
	"github.com/stagecoach/stagecoach/internal/store"
)

// featureDeps is what every feature is built from.
type featureDeps struct {
	store   *store.Store
	jobs    *jobs.Inserter
	github  configcheck.Installations
	engine  *engine.Runner
	source  *source.Fetcher
	configs *configcheck.Processor // repository config from the default branch, cached per commit
	logger  *slog.Logger
	now     func() time.Time
	// publicURL is the bot's external base URL ("" when unset), for links in comments.
	publicURL string
	registry  prometheus.Registerer
}

// feature is what one feature contributes to the bot.
type feature struct {
	// name records each delivery's processing by this feature; it must not change between releases.
	name string
	// processors act on events, by event name.
	processors map[string]event.Processor
	// commands are the comment commands the feature owns.
	commands []command.Spec
	// addWorkers registers the feature's job workers.
	addWorkers func(*river.Workers)
	// periodic jobs run on the elected leader.
	periodic []*river.PeriodicJob
	// resume hands work nobody is doing to new jobs; every replica runs it every few seconds.
	resume func(ctx context.Context, now time.Time) error
}
