package schedule

import "github.com/prometheus/client_golang/prometheus"

// gauges are the schedule's figures in /metrics, updated at every tick.
type gauges struct {
	asleep, awakeHours, saved *prometheus.GaugeVec
}

func newGauges(reg prometheus.Registerer) *gauges {
	g := &gauges{
		asleep: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stagecoach_environment_asleep",
			Help: "1 when the scheduler has put the environment to sleep, 0 when awake."}, []string{"repo", "environment"}),
		awakeHours: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stagecoach_schedule_awake_hours_per_week",
			Help: "Hours per typical week the environment's schedule keeps it awake."}, []string{"repo", "environment"}),
		saved: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "stagecoach_schedule_saved_ratio",
			Help: "Share of a typical week the environment sleeps, against always-on (0 to 1)."}, []string{"repo", "environment"}),
	}
	if reg != nil {
		reg.MustRegister(g.asleep, g.awakeHours, g.saved)
	}
	return g
}

func (g *gauges) observe(repo string, t target, applied State) {
	v := 0.0
	if applied == Asleep {
		v = 1
	}
	g.asleep.WithLabelValues(repo, t.env).Set(v)
	w := t.plan.TypicalWeek()
	g.awakeHours.WithLabelValues(repo, t.env).Set(w.Awake.Hours())
	g.saved.WithLabelValues(repo, t.env).Set(w.Saved())
}
