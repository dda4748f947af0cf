package bot

import (
	"context"
	"errors"
	"time"

	"github.com/stagecoach/stagecoach/internal/schedule"
	"github.com/stagecoach/stagecoach/internal/store"
)

// scheduleFeature builds the off-hours scheduler: a periodic tick on the elected leader,
// transition jobs, and the /wake and /sleep commands.
func scheduleFeature(d featureDeps) (part, error) {
	var eng schedule.Engine
	if d.engine != nil { // a nil *engine.Runner must not become a non-nil interface
		eng = d.engine
	}
	s := schedule.New(schedule.Options{Store: d.store, Jobs: d.Jobs, Config: d.Configs, GitHub: d.GitHub,
		Engine: eng, Source: d.Sources, Logger: d.Logger, Now: d.Now, Registry: d.registry,
		LastDeploy: lastPromotion(d.store), PREnvironments: activePREnvironments(d.store)})
	return part{name: "schedule", commands: s.Commands(), addWorkers: s.AddWorkers, periodic: s.Periodic()}, nil
}

// lastPromotion tells the scheduler when an environment last received a promotion, for
// wake_on_deploy.
func lastPromotion(st *store.Store) schedule.LastDeploy {
	return func(ctx context.Context, repo, env, _ string) (time.Time, error) {
		_, at, err := st.CurrentDeployment(ctx, repo, env)
		if errors.Is(err, store.ErrNotFound) {
			return time.Time{}, nil
		}
		return at, err
	}
}

// activePREnvironments lists a repository's PR environments for the ephemeral schedule.
func activePREnvironments(st *store.Store) schedule.PRLister {
	return func(ctx context.Context, repo string) ([]schedule.PRTarget, error) {
		envs, err := st.ActivePREnvironments(ctx, repo)
		if err != nil {
			return nil, err
		}
		out := make([]schedule.PRTarget, 0, len(envs))
		for _, e := range envs {
			out = append(out, schedule.PRTarget{Stack: e.Stack, FirstDeployed: e.FirstDeployedAt})
		}
		return out, nil
	}
}
