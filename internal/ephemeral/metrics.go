package ephemeral

import "github.com/prometheus/client_golang/prometheus"

// metrics are the feature's Prometheus series.
type metrics struct {
	operations *prometheus.CounterVec
	active     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{operations: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stagecoach_pr_environment_operations_total",
		Help: "PR environment operations (deploy, preview, destroy) by result (success, failure).",
	}, []string{"operation", "result"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stagecoach_pr_environments_active",
			Help: "PR environments holding a slot (deployed or being deployed or destroyed), as of the last sweep.",
		})}
	if reg != nil {
		reg.MustRegister(m.operations, m.active)
	}
	return m
}

func (m *metrics) observe(op string, ok bool) {
	r := "success"
	if !ok {
		r = "failure"
	}
	m.operations.WithLabelValues(op, r).Inc()
}
