package bot

import (
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/promotion"
)

// promotionSweepInterval is how often environments with queued promotions are given a job.
const promotionSweepInterval = time.Minute

// promotionFeature builds the promotion workflow: merges deploy the first environment,
// labelled merges and /promote go further, /rollback goes back (see internal/promotion).
func promotionFeature(d featureDeps) (feature, error) {
	o := promotion.Options{Records: d.store, Jobs: d.jobs, GitHub: d.github, Sources: d.source, Configs: d.configs,
		Logger: d.logger, Now: d.now, PublicURL: d.publicURL}
	if d.engine != nil {
		o.Engine = d.engine
	}
	svc := promotion.New(o)
	return feature{
		processors: map[string]event.Processor{
			"push":         event.ProcessorFunc(svc.Push),
			"deployment":   event.ProcessorFunc(svc.Deployment),
			"pull_request": event.ProcessorFunc(svc.Labeled),
		},
		commands: svc.Commands(),
		addWorkers: func(w *river.Workers) {
			river.AddWorker(w, &promotion.EnvironmentWorker{Service: svc})
			river.AddWorker(w, &promotion.SweepWorker{Service: svc})
		},
		periodic: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(promotionSweepInterval),
			func() (river.JobArgs, *river.InsertOpts) { return promotion.SweepArgs{}, nil }, nil)},
	}, nil
}
