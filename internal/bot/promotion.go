package bot

import (
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/promotion"
)

// promotionFeature builds the promotion workflow: merges deploy the first environment,
// labelled merges and /promote go further, /rollback goes back (see internal/promotion).
func promotionFeature(d featureDeps) (feature, error) {
	o := promotion.Options{Records: d.store, Leases: d.store, Jobs: d.jobs, GitHub: d.github, Sources: d.source, Configs: d.configs,
		Logger: d.logger, Now: d.now, PublicURL: d.publicURL}
	if d.engine != nil {
		o.Engine = d.engine
	}
	svc := promotion.New(o)
	return feature{
		name: "promotion",
		processors: map[string]event.Processor{
			"push":         event.ProcessorFunc(svc.Push),
			"deployment":   event.ProcessorFunc(svc.Deployment),
			"pull_request": event.ProcessorFunc(svc.Labeled),
		},
		commands: svc.Commands(),
		resume:   svc.Resume,
		addWorkers: func(w *river.Workers) {
			river.AddWorker(w, &promotion.EnvironmentWorker{Service: svc})
			river.AddWorker(w, &promotion.SweepWorker{Service: svc})
		},
	}, nil
}
