package bot

import (
	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/promotion"
)

// promotionFeature builds the promotion workflow: merges deploy the first environment,
// labelled merges and /promote go further, /rollback goes back (see internal/promotion).
func promotionFeature(d featureDeps) (part, error) {
	o := promotion.Options{Deps: d.Deps, Records: d.store}
	if d.engine != nil {
		o.Engine = d.engine
	}
	svc := promotion.New(o)
	return part{
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
