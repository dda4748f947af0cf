// Package engine is stagecoach's seam around the Pulumi Automation API. A Runner previews, updates,
// refreshes and destroys stacks and reads their outputs and tags. Each operation works in its own
// workspace directory, holds its stack's lease (shared by all replicas) for as long as Pulumi runs,
// takes one of a limited number of process slots, and returns a structured Result built from the
// engine's event stream, with its full log (ANSI stripped, secrets masked) saved for the dashboard.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofrs/flock"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/remoteexec"
)

// newCommandTimeout bounds the `pulumi version` check in New.
const newCommandTimeout = time.Minute

// pluginLockPoll is the pause between attempts to take the plugin install lock.
const pluginLockPoll = 100 * time.Millisecond

// saveLogTimeout bounds saving an operation's log once the operation is over.
const saveLogTimeout = 30 * time.Second

// userAgent identifies stagecoach to the Pulumi engine.
const userAgent = "stagecoach"

// Runner runs Pulumi operations. It is safe for concurrent use.
type Runner struct {
	cfg    Config
	cmd    *pulumiCommand
	runAs  *runAs            // nil: Pulumi runs as this process's user
	env    map[string]string // workspace environment: backend, passphrase, Config.Env…
	leases Leases
	logs   LogStore
	log    *slog.Logger
	clock  Clock
	slots  chan struct{}
	id     string // lease holder prefix, unique per Runner
	seq    atomic.Uint64

	mu       sync.Mutex
	released map[string]chan struct{} // lease key → closed on the next local release
}

// New validates cfg, applies its defaults, creates the directories it names (WorkDir, PulumiHome and a
// file backend's directory) and checks the CLI's version. leases is required; logs may be nil (logs are
// then not kept); logger and clock default to a discarding logger and the system clock.
func New(cfg Config, leases Leases, logs LogStore, logger *slog.Logger, clock Clock) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("engine config: %w", err)
	}
	if leases == nil {
		return nil, errors.New("engine: a lease store is required")
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = systemClock{}
	}
	var ra *runAs
	if cfg.User != "" {
		var err error
		if ra, err = lookupRunAs(cfg.User); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	home, tmp := filepath.Join(cfg.PulumiHome, "home"), filepath.Join(cfg.PulumiHome, "tmp")
	backendDir := ""
	if u, err := url.Parse(cfg.BackendURL); err == nil && u.Scheme == "file" {
		backendDir = fileBackendDir(u)
	}
	for _, d := range []string{cfg.WorkDir, cfg.PulumiHome, home, tmp, backendDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("engine: creating %s: %w", d, err)
		}
	}
	cli, languageDirs := cfg.PulumiCommand, cfg.LanguageDirs
	if ra != nil {
		var err error
		if cli, languageDirs, err = prepareRunAs(ra, cfg, backendDir); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), newCommandTimeout)
	defer cancel()
	cmd, err := newPulumiCommand(ctx, cli, commandOptions{
		languageDirs: languageDirs, cancelGrace: cfg.CancelGrace, inherit: cfg.InheritEnv,
		home: home, tmp: tmp, runAs: ra, runner: cfg.Runner,
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if cmd.remote != nil {
		if err := checkRunnerMounts(ctx, cmd.remote, cfg, backendDir); err != nil {
			return nil, err
		}
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":       cfg.BackendURL,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		// A fresh workspace has no Pulumi.<stack>.yaml: keep using the secrets manager recorded in
		// the stack's state instead of making a new one.
		"PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER": "true",
	}
	if cfg.SecretsProvider == DefaultSecretsProvider {
		env["PULUMI_CONFIG_PASSPHRASE"] = cfg.Passphrase
	}
	for k, v := range cfg.Env {
		env[k] = v
	}
	return &Runner{
		cfg:      cfg,
		cmd:      cmd,
		runAs:    ra,
		env:      env,
		leases:   leases,
		logs:     logs,
		log:      logger,
		clock:    clock,
		slots:    make(chan struct{}, cfg.MaxConcurrent),
		id:       lease.Process(), // a restarted bot on this host takes a killed one's stack leases back at once
		released: map[string]chan struct{}{},
	}, nil
}

// PulumiVersion is the version of the CLI the Runner runs, e.g. "3.274.1".
func (r *Runner) PulumiVersion() string { return r.cmd.version.String() }

// Preview shows what Up would change. It creates the stack when it does not exist yet.
func (r *Runner) Preview(ctx context.Context, req Request) (Result, error) {
	return r.operate(ctx, KindPreview, req)
}

// Up creates or updates the stack's resources. It creates the stack when it does not exist yet.
func (r *Runner) Up(ctx context.Context, req Request) (Result, error) {
	return r.operate(ctx, KindUp, req)
}

// Destroy deletes the stack's resources and then removes the stack with its configuration and history.
// A stack that does not exist is ErrStackNotFound.
func (r *Runner) Destroy(ctx context.Context, req Request) (Result, error) {
	return r.operate(ctx, KindDestroy, req)
}

// operate runs one engine operation: workspace, lease, slot, stack, config and tags, the engine (retried
// once after clearing a stale lock), outputs, result and log. When the engine ran and failed, the error
// is an *OperationError holding the Result.
func (r *Runner) operate(ctx context.Context, kind Kind, req Request) (Result, error) {
	res := Result{Kind: kind, Stack: req.Stack, Counts: map[Op]int{}}
	if err := req.validate(kind == KindPreview || kind == KindUp); err != nil {
		return res, fmt.Errorf("%s of stack %s: %w: %w", kind, req.Stack, ErrInvalidRequest, err)
	}
	started := r.clock.Now()
	w, err := r.newWorkspace(req)
	if err != nil {
		return res, fmt.Errorf("%s of stack %s: %w", kind, req.Stack, err)
	}
	res.Stack = w.stack
	log := r.log.With("stack", w.stack, "operation", string(kind))
	defer func() {
		if err := w.remove(); err != nil {
			log.Warn("cleaning up", "err", err)
		}
	}()

	opCtx, unlock, err := r.lock(ctx, r.leaseKey(w.stack), log)
	if err != nil {
		return res, fmt.Errorf("%s of stack %s: %w", kind, w.stack, err)
	}
	defer unlock()
	release, err := r.slot(opCtx, log)
	if err != nil {
		return res, fmt.Errorf("%s of stack %s: %w", kind, w.stack, err)
	}
	defer release()
	opCtx, cancelTimeout := context.WithTimeoutCause(opCtx, r.cfg.OperationTimeout, &TimeoutError{After: r.cfg.OperationTimeout})
	defer cancelTimeout()

	m := r.newMasker(req, w)
	book := newLogBook(r.clock)
	stack, err := w.open(opCtx, kind == KindPreview || kind == KindUp, m)
	if err != nil {
		return res, fmt.Errorf("%s: %w", kind, err)
	}
	if req.Program.Dir != "" {
		if err := r.installPlugins(opCtx, stack.Workspace(), book, m); err != nil {
			return res, fmt.Errorf("%s of stack %s: %w", kind, w.stack, err)
		}
	}
	if err := r.prepare(opCtx, stack, req, m); err != nil {
		return res, fmt.Errorf("%s of stack %s: %w", kind, w.stack, err)
	}
	log.Info("operation started")
	runErr := r.runEngine(opCtx, kind, req, stack, book, m, &res, log)
	if runErr != nil && opCtx.Err() != nil {
		runErr = fmt.Errorf("%w: %w", context.Cause(opCtx), runErr)
	}
	res.Duration = r.clock.Now().Sub(started)
	res.Succeeded = runErr == nil
	switch {
	case runErr != nil && opCtx.Err() != nil:
		// Stopped by us (shutdown, a newer commit, a lost lease): say so first.
		res.Errors = append([]string{plainError(opCtx, runErr)}, res.Errors...)
	case runErr != nil && len(res.Errors) == 0:
		res.Errors = []string{m.mask(plainError(opCtx, runErr))}
	}
	finished := r.clock.Now()
	res.LogID = r.saveLog(ctx, res, book.Text(m), started, finished, log)
	log.Info("operation finished", "succeeded", res.Succeeded, "duration", res.Duration, "changed", res.Changed())
	if runErr != nil {
		return res, &OperationError{Result: res, Err: runErr}
	}
	return res, nil
}

// installPlugins installs the plugins a project needs before it runs, one install at a time per
// PULUMI_HOME — across processes too — since parallel installs can see each other's half-installed
// plugins (pulumi/pulumi#22784). Operations then find them in place. Nothing is downloaded when they are there.
func (r *Runner) installPlugins(ctx context.Context, ws auto.Workspace, book *logBook, m *masker) error {
	lock := flock.New(filepath.Join(r.cfg.PulumiHome, "plugin-install.lock"))
	locked, err := lock.TryLockContext(ctx, pluginLockPoll)
	if err != nil || !locked {
		return fmt.Errorf("waiting for the plugin install lock: %w", errors.Join(err, context.Cause(ctx)))
	}
	defer func() { _ = lock.Unlock() }()
	if err := ws.Install(ctx, &auto.InstallOptions{NoDependencies: true, Stdout: book, Stderr: book}); err != nil {
		return plainly(ctx, m, "installing plugins", err)
	}
	return nil
}

// prepare sets the request's configuration and tags on the stack.
func (r *Runner) prepare(ctx context.Context, stack auto.Stack, req Request, m *masker) error {
	if len(req.Config) > 0 {
		cm := auto.ConfigMap{}
		for k, v := range req.Config {
			cm[k] = auto.ConfigValue{Value: v.Value, Secret: v.Secret}
		}
		if err := stack.SetAllConfig(ctx, cm); err != nil {
			return plainly(ctx, m, "setting config", err)
		}
	}
	return setTags(ctx, stack, req.Tags, m)
}

// setTags sets the tags whose values differ from the stack's.
func setTags(ctx context.Context, stack auto.Stack, tags map[string]string, m *masker) error {
	if len(tags) == 0 {
		return nil
	}
	current, err := stack.ListTags(ctx)
	if err != nil {
		return plainly(ctx, m, "reading tags", err)
	}
	for k, v := range tags {
		if cur, ok := current[k]; ok && cur == v {
			continue
		}
		if err := stack.SetTag(ctx, k, v); err != nil {
			return plainly(ctx, m, "setting tag "+k, err)
		}
	}
	return nil
}

// runEngine runs the operation. A DIY backend's lock that survives while we hold the stack's lease was
// left by a process that is gone (every stagecoach operation holds the lease while Pulumi runs, and a
// lease only expires when its holder stopped renewing it), so it is cleared and the operation retried once.
func (r *Runner) runEngine(ctx context.Context, kind Kind, req Request, stack auto.Stack, book *logBook,
	m *masker, res *Result, log *slog.Logger,
) error {
	for attempt := 1; ; attempt++ {
		col := newCollector(m)
		outputs, err := r.engineOnce(ctx, kind, req, stack, book, col)
		col.finish()
		col.fill(res)
		if err != nil && len(res.Errors) == 0 {
			if msg := col.programErrors(); msg != "" {
				res.Errors = []string{msg}
			}
		}
		if err == nil {
			res.Outputs = r.outputs(outputs, m)
			return nil
		}
		if attempt > 1 || !r.cfg.diy() || ctx.Err() != nil || !IsConcurrentUpdate(err) {
			return err
		}
		log.Warn("clearing a stale Pulumi lock left by an operation that is no longer running")
		book.note("The stack was locked by an operation that is no longer running (its stagecoach lease had expired). Clearing the stale lock and retrying.")
		if cerr := stack.Cancel(ctx); cerr != nil {
			return fmt.Errorf("clearing a stale lock: %w (the operation failed with: %w)", cerr, err)
		}
	}
}

// engineOnce runs the engine once, its events going to col and its output to book.
func (r *Runner) engineOnce(ctx context.Context, kind Kind, req Request, stack auto.Stack, book *logBook,
	col *collector,
) (auto.OutputMap, error) {
	switch kind {
	case KindPreview:
		_, err := stack.Preview(ctx, optPreview(req, book, col)...)
		return nil, err
	case KindUp:
		up, err := stack.Up(ctx, optUp(req, book, col)...)
		return up.Outputs, err
	case KindDestroy:
		_, err := stack.Destroy(ctx, optDestroy(req, book, col)...)
		return nil, err
	}
	return nil, fmt.Errorf("unknown operation %q", kind)
}

// outputs converts stack outputs, masking secrets; their values join the masker so logs hide them too.
func (r *Runner) outputs(om auto.OutputMap, m *masker) map[string]Output {
	if len(om) == 0 {
		return nil
	}
	for _, v := range om {
		if v.Secret {
			m.add(secretStrings(v.Value)...)
		}
	}
	out := make(map[string]Output, len(om))
	for k, v := range om {
		if v.Secret {
			out[k] = Output{Value: secretMask, Secret: true}
			continue
		}
		out[k] = Output{Value: renderOutput(v.Value, m)}
	}
	return out
}

// saveLog stores the operation's log and returns its id ("" without a LogStore or on failure, which is logged).
func (r *Runner) saveLog(ctx context.Context, res Result, text string, started, finished time.Time, log *slog.Logger) string {
	if r.logs == nil {
		return ""
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveLogTimeout)
	defer cancel()
	id, err := r.logs.SaveLog(sctx, OperationLog{
		Stack: res.Stack, Kind: string(res.Kind), Text: text,
		Started: started, Finished: finished, Succeeded: res.Succeeded,
	})
	if err != nil {
		log.Error("saving the operation log", "err", err)
		return ""
	}
	return id
}

// newMasker knows every secret of the request and the configuration, and the directories of the
// operation (w, when not nil) and the Runner: the project's copy is stripped from paths, so errors name
// files as the repository does ("Pulumi.yaml", not "<data dir>/work/op-1234/project/Pulumi.yaml").
func (r *Runner) newMasker(req Request, w *opWorkspace) *masker {
	m := newMasker()
	if w != nil {
		m.addPath(w.workDir, "")
		m.addPath(w.root, "")
	}
	if req.Program.Dir != "" {
		m.addPath(req.Program.Dir, "")
	}
	m.addPath(r.cfg.PulumiHome, "$PULUMI_HOME")
	m.addPath(r.cfg.WorkDir, "$WORK")
	if r.cfg.Passphrase != "" {
		m.add(r.cfg.Passphrase)
	}
	for k, v := range r.cfg.Env {
		if secretishEnv(k) {
			m.add(v)
		}
	}
	for _, v := range req.Config {
		if v.Secret {
			m.add(v.Value)
		}
	}
	return m
}

// renderOutput renders a non-secret output: strings as they are, anything else as compact JSON.
func renderOutput(v any, m *masker) string {
	if s, ok := v.(string); ok {
		return m.mask(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return m.mask(fmt.Sprint(v))
	}
	return m.mask(string(b))
}

// secretStrings lists the strings a secret value may appear as in a log: itself, or its JSON and leaves.
func secretStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case nil, bool:
		return nil
	}
	var out []string
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b))
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// checkRunnerMounts makes sure the runner sees the directories Pulumi shares with this process at the
// same paths: the work and home directories, a file backend's, and this process's TMPDIR, where the
// automation API has the CLI write its event log.
func checkRunnerMounts(ctx context.Context, c *remoteexec.Client, cfg Config, backendDir string) error {
	dirs := []string{os.TempDir(), cfg.WorkDir, cfg.PulumiHome}
	if backendDir != "" {
		dirs = append(dirs, backendDir)
	}
	if err := c.Check(ctx, dirs); err != nil {
		return fmt.Errorf("engine: the Pulumi runner must see %s at the same paths as the bot (mount the same volumes there in both "+
			"containers; TMPDIR holds the event logs the CLI writes for the bot): %w", strings.Join(dirs, ", "), err)
	}
	return nil
}
