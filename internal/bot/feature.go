package bot

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/store"
)

// featureDeps is what every feature is built from: the shared feature.Deps (the store as the
// leases, the job inserter, GitHub, sources, the config loaders, logger, clock, public URL) and
// what only some features take.
type featureDeps struct {
	feature.Deps
	store    *store.Store
	engine   *engine.Runner
	registry prometheus.Registerer
}

// part is what one feature contributes to the bot.
type part struct {
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
