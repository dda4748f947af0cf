package bot

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stagecoach/stagecoach/internal/store"
)

// routes maps every endpoint. Without STAGECOACH_ADMIN_ADDR one handler serves them all
// (logs only while STAGECOACH_PUBLIC_LOGS is true) and admin is nil; with it, public serves the
// webhook and the probes, and admin the probes, the status page, /metrics and /logs/{id}.
func (b *Bot) routes(hooks http.Handler) (public, admin http.Handler) {
	probes := func(mux *http.ServeMux) {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "ok")
		})
		mux.HandleFunc("GET /readyz", b.ready)
	}
	pages := func(mux *http.ServeMux, logs bool) {
		mux.Handle("GET /metrics", promhttp.HandlerFor(b.registry, promhttp.HandlerOpts{}))
		if logs {
			mux.HandleFunc("GET /logs/{id}", b.log)
		}
		mux.HandleFunc("GET /{$}", b.status)
	}
	pub := http.NewServeMux()
	pub.Handle("/webhooks/github", hooks)
	probes(pub)
	if b.cfg.HTTP.AdminAddr == "" {
		pages(pub, b.cfg.HTTP.PublicLogs)
		return pub, nil
	}
	adm := http.NewServeMux()
	probes(adm)
	pages(adm, true)
	return pub, adm
}

// ready answers 200 when the bot can do its work: the database answers, the workers run, the
// GitHub App is configured and the Pulumi engine is available; 503 with the reason otherwise.
// /healthz is the liveness probe; this one keeps a pod that can do nothing out of rotation.
func (b *Bot) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := b.store.Ping(ctx); err != nil {
		http.Error(w, "database unreachable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if !b.queue.Running() {
		http.Error(w, "job workers not running", http.StatusServiceUnavailable)
		return
	}
	if b.app == nil {
		http.Error(w, "the GitHub App is not configured: set STAGECOACH_GITHUB_APP_ID and STAGECOACH_GITHUB_PRIVATE_KEY_FILE", http.StatusServiceUnavailable)
		return
	}
	if b.engineErr != nil {
		http.Error(w, "the Pulumi engine is not available: "+b.engineErr.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stagecoach</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse}td,th{padding:.2rem .8rem;border-bottom:1px solid #d0d7de;text-align:left}
.bad{color:#cf222e}.ok{color:#1a7f37}</style></head><body>
<h1>stagecoach</h1>
<p>Version {{.Version}} · up since {{.Started}} · store: {{.Store}} ·
GitHub App: {{if .App}}<span class="ok">configured</span>{{else}}<span class="bad">not configured</span>{{end}} ·
workers: {{if .Running}}<span class="ok">running</span>{{else}}<span class="bad">stopped</span>{{end}}</p>
<h2>Queue</h2>
{{if .DepthErr}}<p class="bad">{{.DepthErr}}</p>{{else}}<table><tr><th>state</th><th>jobs</th></tr>
{{range $k, $v := .Depth}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{else}}<tr><td colspan="2">empty</td></tr>{{end}}</table>{{end}}
<h2>Stacks with an operation in flight</h2>
<table><tr><th>stack</th><th>holder</th><th>lease until</th></tr>
{{range .Leases}}<tr><td>{{.Key}}</td><td>{{.Holder}}</td><td>{{.ExpiresAt.UTC.Format "2006-01-02 15:04:05 UTC"}}</td></tr>{{else}}<tr><td colspan="3">none</td></tr>{{end}}</table>
<p><a href="/metrics">metrics</a> · <a href="/readyz">readiness</a></p>
</body></html>`))

// status renders the status page for platform engineers.
func (b *Bot) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	data := struct {
		Version, Started, Store string
		App, Running            bool
		Depth                   map[string]int
		DepthErr                string
		Leases                  any
	}{Version: b.version, Started: b.started.UTC().Format(time.RFC3339), Store: string(b.store.Dialect()),
		App: b.app != nil, Running: b.queue.Running()}
	depth, err := b.queue.Depth(ctx)
	if err != nil {
		data.DepthErr = err.Error()
	}
	data.Depth = depth
	leases, _ := b.store.Leases(ctx)
	data.Leases = leases
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, data); err != nil {
		b.logger.Warn("rendering the status page", "error", err)
	}
}

// log serves the full text of one Pulumi operation (ANSI stripped and secrets masked by the
// engine), the page that comments, check runs and deployment statuses link to.
func (b *Bot) log(w http.ResponseWriter, r *http.Request) {
	l, err := b.store.Log(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such log", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "reading the log failed", http.StatusInternalServerError)
		b.logger.Warn("reading a log", "error", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	result := "succeeded"
	if !l.Succeeded {
		result = "failed"
	}
	fmt.Fprintf(w, "%s of %s, %s to %s UTC: %s\n\n", l.Kind, l.Stack, l.Started.UTC().Format(time.DateTime), l.Finished.UTC().Format(time.DateTime), result)
	io.WriteString(w, l.Text)
}
