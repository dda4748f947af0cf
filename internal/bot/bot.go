// Package bot assembles stagecoach: New is the one function that wires the store,
// the job queue, the GitHub client, the webhook handler and the feature processors
// together; Start and Stop run and end the service.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/stagecoach/stagecoach/internal/command"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/configcheck"
	"github.com/stagecoach/stagecoach/internal/event"
	"github.com/stagecoach/stagecoach/internal/feature"
	"github.com/stagecoach/stagecoach/internal/githubapi"
	"github.com/stagecoach/stagecoach/internal/githubapp"
	"github.com/stagecoach/stagecoach/internal/jobs"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/metrics"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/source"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/webhooks"
)

// Options are what New needs beyond the configuration.
type Options struct {
	// Config is the validated process configuration.
	Config config.Config
	// Logger receives every log line. Required.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Version is shown on the status page.
	Version string
	// ReplicaID names this process in the job tables. Default: River picks one.
	ReplicaID string
	// Schema, for Postgres, isolates tests in their own schema. Default "".
	Schema string
}

// Bot is the running service.
type Bot struct {
	cfg      config.Config
	logger   *slog.Logger
	now      func() time.Time
	version  string
	started  time.Time
	store    *store.Store
	queue    *jobs.Queue
	app      *githubapp.App // nil when the App is not configured
	registry *prometheus.Registry
	handler  http.Handler
	// admin serves the status page, metrics and logs on STAGECOACH_ADMIN_ADDR; nil when unset.
	admin http.Handler
	// engineErr says why the Pulumi engine is not available; nil when it is.
	engineErr error
	// steps is who acts on each GitHub event, in order (see EventSteps).
	steps map[string][]event.Step

	mu            sync.Mutex
	server        *http.Server
	listener      net.Listener
	adminServer   *http.Server
	adminListener net.Listener
	serveErr      chan error
}

// New opens the store (running migrations) and wires every part. Nothing runs until Start.
func New(ctx context.Context, o Options) (*Bot, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg, log := o.Config, o.Logger
	b := &Bot{cfg: cfg, logger: log, now: o.Now, version: o.Version, registry: prometheus.NewRegistry()}
	b.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(b.registry)

	sqlitePath, _ := cfg.Store.SQLitePath()
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.Store.DatabaseURL, SQLitePath: sqlitePath,
		Schema: o.Schema, Logger: log, Now: o.Now, LeaseNow: time.Now})
	if err != nil {
		return nil, err
	}
	b.store = st

	// The GitHub App client. A bot without one still takes webhooks and queues them; the jobs
	// that need GitHub fail with an error naming the missing setting and are retried.
	botLogin := ""
	if cfg.GitHub.AppID != 0 {
		b.app, err = githubapp.New(githubapp.Config{
			AppID: cfg.GitHub.AppID, PrivateKey: cfg.GitHub.PrivateKey, APIURL: cfg.GitHub.APIURL,
			Transport: &githubapp.RetryTransport{
				MaxRetries: cfg.GitHub.MaxRetries, MaxWait: cfg.GitHub.MaxRetryWait, Now: o.Now, Logger: log,
				OnRetry: func(reason string) { m.GitHubRetries.WithLabelValues(reason).Inc() },
			},
		}, log)
		if err != nil {
			st.Close()
			return nil, err
		}
		slug := cfg.GitHub.AppSlug
		if slug == "" {
			lookup, cancel := context.WithTimeout(ctx, 10*time.Second)
			slug, err = b.app.Slug(lookup)
			cancel()
			if err != nil {
				log.Warn("could not look up the App's slug; set STAGECOACH_GITHUB_APP_SLUG so the bot can recognise its own events", "error", err)
			}
		}
		if slug != "" {
			botLogin = slug + "[bot]"
		}
	} else {
		log.Warn("the GitHub App is not configured: webhooks are queued but nothing can answer them; set STAGECOACH_GITHUB_APP_ID and STAGECOACH_GITHUB_PRIVATE_KEY_FILE")
	}
	installations := githubapi.Installations(githubapi.Apps{App: unconfigured{}})
	if b.app != nil {
		installations = githubapi.Apps{App: b.app}
	}

	inserter, err := jobs.NewInserter(st, log)
	if err != nil {
		st.Close()
		return nil, err
	}

	// The Pulumi engine. Without a CLI the bot still starts (doctor says what is missing);
	// jobs that need the engine fail with an error that says to run `bot toolchain install`.
	runner, err := newEngine(ctx, cfg, st, log)
	if err != nil {
		log.Warn("the Pulumi engine is not available", "error", err)
		b.engineErr = err
	}
	fetcher, err := source.New(source.Config{Dir: filepath.Join(cfg.Store.DataDir, "source")}, nil, log)
	if err != nil {
		st.Close()
		return nil, err
	}

	// Features, and who acts on each event, in order.
	configs := repoconfig.NewLoaders(installations, log)
	check := configcheck.New(installations, configs, log)
	deps := featureDeps{Deps: feature.Deps{Leases: st, Jobs: inserter, GitHub: installations, Sources: fetcher,
		Configs: configs, Logger: log, Now: o.Now, PublicURL: cfg.HTTP.LogLinkBase()},
		store: st, engine: runner, registry: b.registry}
	steps := map[string][]event.Step{"pull_request": {{Name: "configcheck", Processor: check}}}
	workers := river.NewWorkers()
	var specs []command.Spec
	var periodic []*river.PeriodicJob
	var resume []func(context.Context, time.Time) error
	for _, build := range []func(featureDeps) (part, error){ephemeralFeature, promotionFeature, scheduleFeature} {
		f, err := build(deps)
		if err != nil {
			st.Close()
			return nil, err
		}
		for name, p := range f.processors {
			steps[name] = append(steps[name], event.Step{Name: f.name, Processor: p})
		}
		specs = append(specs, f.commands...)
		if f.addWorkers != nil {
			f.addWorkers(workers)
		}
		periodic = append(periodic, f.periodic...)
		if f.resume != nil {
			resume = append(resume, f.resume)
		}
	}
	steps["issue_comment"] = append(steps["issue_comment"], event.Step{Name: "command", Processor: command.NewRouter(installations, st, log, specs...)})

	b.steps = steps
	events := &event.Worker{Deliveries: st, Leases: st, Steps: steps, Logger: log}
	river.AddWorker(workers, events)
	river.AddWorker(workers, &jobs.CleanupWorker{Store: st, Retention: cfg.Jobs.RetentionPeriod, LogRetention: cfg.Jobs.LogRetention, Now: o.Now})
	kicks := &lease.Kicks{}
	resume = append(resume, func(ctx context.Context, now time.Time) error { return events.Resume(ctx, inserter, kicks, now) })
	b.queue, err = jobs.New(inserter, workers, jobs.Config{
		Workers: cfg.Jobs.Workers, Retention: cfg.Jobs.RetentionPeriod, ID: o.ReplicaID,
		PeriodicJobs: append(periodic, jobs.CleanupJob()),
		Middleware: []rivertype.Middleware{&jobs.Observer{Logger: log, Metrics: m, Now: o.Now,
			Snooze: func(err error) (time.Duration, bool) { return githubapp.RetryAfter(err, o.Now()) }}},
		Resume: resume, Now: o.Now,
	}, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	metrics.RegisterQueueDepth(b.registry, b.queue.Depth, log)

	hooks, err := webhooks.New(webhooks.Options{Secret: cfg.HTTP.WebhookSecret, Allowlist: cfg.HTTP.RepoAllowlist,
		BotLogin: botLogin, Queue: b.queue, Metrics: m, Logger: log, MaxConcurrent: cfg.HTTP.WebhookMaxConcurrent})
	if err != nil {
		st.Close()
		return nil, err
	}
	b.handler, b.admin = b.routes(hooks)
	return b, nil
}

// Handler serves the endpoints of STAGECOACH_ADDR: every endpoint, or only the webhook,
// /healthz and /readyz when STAGECOACH_ADMIN_ADDR is set. Start serves it.
func (b *Bot) Handler() http.Handler { return b.handler }

// AdminHandler serves the endpoints of STAGECOACH_ADMIN_ADDR (status page, /metrics,
// /logs/{id}, /healthz, /readyz); nil when STAGECOACH_ADMIN_ADDR is not set.
func (b *Bot) AdminHandler() http.Handler { return b.admin }

// Start starts the job workers and the HTTP server (and the admin server when
// STAGECOACH_ADMIN_ADDR is set), and returns once they run.
func (b *Bot) Start(ctx context.Context) error {
	// A bot restarted on this machine resumes a killed one's work now, not a lease TTL later.
	if err := lease.ReclaimDeadHere(ctx, b.store, liveLeases{b.store}, b.logger); err != nil {
		b.logger.Warn("could not take back the leases of a stopped process; they expire by themselves", "error", err)
	}
	if err := b.queue.Start(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", b.cfg.HTTP.Addr)
	if err != nil {
		_ = b.queue.Stop(ctx)
		return fmt.Errorf("listening on %s (STAGECOACH_ADDR): %w", b.cfg.HTTP.Addr, err)
	}
	var adminLn net.Listener
	if b.admin != nil {
		adminLn, err = net.Listen("tcp", b.cfg.HTTP.AdminAddr)
		if err != nil {
			ln.Close()
			_ = b.queue.Stop(ctx)
			return fmt.Errorf("listening on %s (STAGECOACH_ADMIN_ADDR): %w", b.cfg.HTTP.AdminAddr, err)
		}
	}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			ErrorLog: slog.NewLogLogger(b.logger.Handler(), slog.LevelWarn)}
	}
	srv := newServer(b.handler)
	var adminSrv *http.Server
	if adminLn != nil {
		adminSrv = newServer(b.admin)
	}
	b.mu.Lock()
	b.server, b.listener, b.serveErr, b.started = srv, ln, make(chan error, 2), b.now()
	b.adminServer, b.adminListener = adminSrv, adminLn
	b.mu.Unlock()
	serve := func(srv *http.Server, ln net.Listener) {
		defer func() {
			if r := recover(); r != nil {
				b.logger.Error("HTTP server panicked", "panic", fmt.Sprint(r))
			}
		}()
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		b.serveErr <- err
	}
	go serve(srv, ln)
	attrs := []any{"addr", ln.Addr().String()}
	if adminSrv != nil {
		go serve(adminSrv, adminLn)
		attrs = append(attrs, "admin_addr", adminLn.Addr().String())
	}
	b.logger.Info("stagecoach is serving", append(attrs, "store", string(b.store.Dialect()),
		"github_app", b.app != nil, "engine", b.engineErr == nil, "version", b.version)...)
	return nil
}

// Addr is the address the server listens on, once started.
func (b *Bot) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.listener == nil {
		return ""
	}
	return b.listener.Addr().String()
}

// AdminAddr is the address the admin server listens on, once started; "" without one.
func (b *Bot) AdminAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.adminListener == nil {
		return ""
	}
	return b.adminListener.Addr().String()
}

// Done receives a server's error (nil after Stop) when the public or admin server stops serving.
func (b *Bot) Done() <-chan error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.serveErr
}

// Stop ends the HTTP server, lets running jobs finish within the shutdown timeout (then
// cancels them; they run again later), and closes the store. Queued jobs stay queued.
func (b *Bot) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	var errs []error
	b.mu.Lock()
	srv, adminSrv := b.server, b.adminServer
	b.mu.Unlock()
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the HTTP server: %w", err))
		}
	}
	if adminSrv != nil {
		if err := adminSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping the admin HTTP server: %w", err))
		}
	}
	if b.queue.Running() {
		if err := b.queue.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := b.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the store: %w", err))
	}
	return errors.Join(errs...)
}

// Store exposes the store, for subcommands and tests.
func (b *Bot) Store() *store.Store { return b.store }

// Queue exposes the job queue, for tests.
func (b *Bot) Queue() *jobs.Queue { return b.queue }

// unconfigured stands in for the GitHub App when it is not configured: every call fails
// with an error naming the settings to set.
type unconfigured struct{}

func (unconfigured) Installation(int64) *github.Client {
	return github.NewClient(&http.Client{Transport: unconfigured{}})
}

func (unconfigured) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, githubapp.ErrNotConfigured
}

// EventSteps names, for each GitHub event the bot acts on, the processors that act on it in order:
// the routing DEVELOPERS.md's event table describes.
func (b *Bot) EventSteps() map[string][]string {
	out := make(map[string][]string, len(b.steps))
	for ev, steps := range b.steps {
		for _, s := range steps {
			out[ev] = append(out[ev], s.Name)
		}
	}
	return out
}

// liveLeases lists the store's live leases for lease.ReclaimDeadHere.
type liveLeases struct{ st *store.Store }

func (l liveLeases) LiveLeases(ctx context.Context) (map[string]string, error) {
	ls, err := l.st.Leases(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ls))
	for _, x := range ls {
		out[x.Key] = x.Holder
	}
	return out, nil
}
