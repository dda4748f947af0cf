package bot

import (
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/ephemeral"
	"github.com/stagecoach/stagecoach/internal/event"
)

// ephemeralSweepInterval is how often PR environments are checked for expiry, waiting PRs and
// closed PRs whose webhook was missed. The sweep also runs when the bot starts.
const ephemeralSweepInterval = time.Minute

// ephemeralFeature builds PR environments (see internal/ephemeral).
func ephemeralFeature(d featureDeps) (part, error) {
	o := ephemeral.Options{Deps: d.Deps, Records: d.store, Registry: d.registry}
	if d.engine != nil {
		o.Engine = d.engine
	}
	svc := ephemeral.New(o)
	return part{
		name:       "ephemeral",
		processors: map[string]event.Processor{"pull_request": event.ProcessorFunc(svc.PullRequest)},
		commands:   svc.Commands(),
		resume:     svc.Resume,
		addWorkers: func(w *river.Workers) {
			river.AddWorker(w, &ephemeral.PRWorker{Service: svc})
			river.AddWorker(w, &ephemeral.SweepWorker{Service: svc})
		},
		periodic: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(ephemeralSweepInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ephemeral.SweepArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true})},
	}, nil
}
