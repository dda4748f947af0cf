package bot

import "github.com/stagecoach/stagecoach/internal/schedule"

// scheduleFeature builds the off-hours scheduler: a periodic tick on the elected leader,
// transition jobs, and the /wake and /sleep commands.
func scheduleFeature(d featureDeps) (feature, error) {
	var eng schedule.Engine
	if d.engine != nil { // a nil *engine.Runner must not become a non-nil interface
		eng = d.engine
	}
	s := schedule.New(schedule.Options{Store: d.store, Jobs: d.jobs, Config: d.configs, GitHub: d.github,
		Engine: eng, Source: d.source, Logger: d.logger, Now: d.now, Registry: d.registry})
	return feature{commands: s.Commands(), addWorkers: s.AddWorkers, periodic: s.Periodic()}, nil
}
