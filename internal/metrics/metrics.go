// Package metrics defines stagecoach's Prometheus metrics, all prefixed "stagecoach_".
// Metrics are registered on a registry the caller owns; nothing is global.
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the collectors the bot updates.
type Metrics struct {
	// Deliveries counts signed webhook deliveries by event and outcome (queued, duplicate,
	// ignored, own, not_allowed, bad_request, error), and unread ones the bot does not act on (ignored).
	Deliveries *prometheus.CounterVec
	// WebhookRefused counts webhook requests refused before or while their body was read, by
	// reason (method, unknown_event, bad_signature, no_delivery_id, too_large, busy, unreadable).
	WebhookRefused *prometheus.CounterVec
	// JobDuration observes how long jobs run, by kind and result (completed, failed, snoozed, cancelled).
	JobDuration *prometheus.HistogramVec
	// GitHubRetries counts retried GitHub API calls by reason (server_error, network, rate_limit).
	GitHubRetries *prometheus.CounterVec
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stagecoach_webhook_deliveries_total",
			Help: "Webhook deliveries received, by event and outcome.",
		}, []string{"event", "outcome"}),
		WebhookRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stagecoach_webhook_refused_total",
			Help: "Webhook requests refused before they counted as deliveries, by reason.",
		}, []string{"reason"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stagecoach_job_duration_seconds",
			Help:    "Time spent working jobs, by kind and result.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 30, 60, 120, 300, 600, 1800},
		}, []string{"kind", "result"}),
		GitHubRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stagecoach_github_retries_total",
			Help: "GitHub API calls retried, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.Deliveries, m.WebhookRefused, m.JobDuration, m.GitHubRetries)
	return m
}

// QueueDepthFunc reports the number of jobs per state (available, scheduled, retryable, running).
type QueueDepthFunc func(ctx context.Context) (map[string]int, error)

// RegisterQueueDepth exports stagecoach_queue_jobs{state} read from depth at scrape time.
func RegisterQueueDepth(reg prometheus.Registerer, depth QueueDepthFunc, logger *slog.Logger) {
	reg.MustRegister(&queueCollector{depth: depth, logger: logger,
		desc: prometheus.NewDesc("stagecoach_queue_jobs", "Jobs in the durable queue, by state.", []string{"state"}, nil)})
}

type queueCollector struct {
	depth  QueueDepthFunc
	logger *slog.Logger
	desc   *prometheus.Desc
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.depth(ctx)
	if err != nil {
		c.logger.Warn("reading queue depth for metrics", "error", err)
		return
	}
	for _, state := range []string{"available", "scheduled", "retryable", "running"} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[state]), state)
	}
}
