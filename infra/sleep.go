package main

// Sleeping floors. Aurora Serverless v2 can pause at 0 ACU (auto-pause) on
// aurora-postgresql 13.15+, 14.12+, 15.7+ and 16.3+; its ceiling must stay ≥ 1.
const (
	sleepingMinACU           = 0
	sleepingMaxACU           = 1
	sleepingAutoPauseSeconds = 300
)

// sizing is what the environment runs at right now: the configured sizes when
// awake, the floor when sleeping. Nothing but sizing changes with sleep, so
// waking restores the configured inputs exactly.
type sizing struct {
	// DesiredCount is the service's task count.
	DesiredCount int
	// MinReplicas and MaxReplicas bound the service's autoscaling.
	MinReplicas, MaxReplicas int
	// MinACU and MaxACU bound the database's capacity.
	MinACU, MaxACU float64
	// AutoPauseSeconds is how long the database idles at 0 ACU before it
	// pauses; 0 leaves it unset (it only applies when MinACU is 0).
	AutoPauseSeconds int
}

// Autoscaling reports whether the configured service scales between bounds.
func (c Config) Autoscaling() bool { return c.Service.MaxReplicas > c.Service.MinReplicas }

// sizing is the sizing for c's current state.
func (c Config) sizing() sizing {
	if c.Sleeping {
		return sizing{
			DesiredCount:     0,
			MinReplicas:      0,
			MaxReplicas:      0,
			MinACU:           sleepingMinACU,
			MaxACU:           sleepingMaxACU,
			AutoPauseSeconds: sleepingAutoPauseSeconds,
		}
	}
	return sizing{
		DesiredCount: c.Service.MinReplicas,
		MinReplicas:  c.Service.MinReplicas,
		MaxReplicas:  c.Service.MaxReplicas,
		MinACU:       c.Database.MinCapacityACU,
		MaxACU:       c.Database.MaxCapacityACU,
	}
}
