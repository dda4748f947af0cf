package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
	"github.com/stagecoach/stagecoach/internal/testenv"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/schedule"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

// sleepyProject is a YAML Pulumi project (no provider plugin) whose outputs show the sleep key.
var sleepyProject = map[string]string{
	".stagecoach.yaml": `version: 1
environments:
  - name: dev
schedules:
  dev:
    sleep: "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI"
    wake: "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI"
`,
	"infra/Pulumi.yaml": `name: sleepy
runtime: yaml
config:
  stagecoach:sleeping:
    value: false
  replicas:
    value: 3
outputs:
  sleeping: ${stagecoach:sleeping}
  replicas: ${replicas}
`,
	"infra/Pulumi.dev.yaml": "config:\n  sleepy:replicas: 2\n",
}

// clock is a settable clock shared by the bot and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// scheduleWorld is a simulated repo with a deployed dev stack, and bots that can be started on it.
type scheduleWorld struct {
	*world
	tools   toolchain.Tools
	dataDir string
	db      store.Options
	clock   *clock
	headSHA string
	inst    int64
	backend string
	passphr string
}

func newScheduleWorld(t *testing.T, db store.Options) *scheduleWorld {
	t.Helper()
	tools, err := toolchain.Find(context.Background(), toolchain.Options{})
	if err != nil {
		testenv.SkipOrFail(t, "no Pulumi CLI here (run `go run ./cmd/bot toolchain install`): %v", err)
	}
	sim, err := githubsim.New(githubsim.Options{WebhookSecret: secret, AppSlug: "stagecoach"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	r, err := sim.CreateRepo("acme", "shop", sleepyProject)
	if err != nil {
		t.Fatal(err)
	}
	w := &scheduleWorld{world: &world{sim: sim}, tools: tools, dataDir: t.TempDir(), db: db,
		clock: &clock{t: berlin(t, "2026-11-25 12:00")}, inst: inst, passphr: "test-passphrase"}
	w.backend = "file://" + filepath.ToSlash(filepath.Join(w.dataDir, "state"))
	w.headSHA = r.HeadSHA
	return w
}

func (w *scheduleWorld) newScheduleBot(t *testing.T, replica string) *bot.Bot {
	t.Helper()
	env := map[string]string{
		"STAGECOACH_ADDR":               "127.0.0.1:0",
		"STAGECOACH_DATA_DIR":           w.dataDir,
		"STAGECOACH_DATABASE_URL":       w.db.DatabaseURL,
		"STAGECOACH_WEBHOOK_SECRET":     secret,
		"STAGECOACH_GITHUB_APP_ID":      strconv.FormatInt(w.sim.AppID(), 10),
		"STAGECOACH_GITHUB_PRIVATE_KEY": string(w.sim.AppPrivateKeyPEM()),
		"STAGECOACH_GITHUB_API_URL":     w.sim.URL(),
		"STAGECOACH_PULUMI_COMMAND":     w.tools.Pulumi,
		"PULUMI_CONFIG_PASSPHRASE":      w.passphr,
		"STAGECOACH_SHUTDOWN_TIMEOUT":   "20s",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := bot.New(context.Background(), bot.Options{Config: cfg, Logger: testLogger(replica),
		Now: w.clock.Now, ReplicaID: replica, Schema: w.db.Schema})
	if err != nil {
		t.Fatal(err)
	}
	// The scheduler knows the repositories the bot has heard from.
	if err := b.Store().TouchRepository(context.Background(), "acme/shop", w.inst); err != nil {
		t.Fatal(err)
	}
	events, cancel := b.Queue().Subscribe(river.EventKindJobCompleted)
	defer cancel()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	// Wait for the start-up reconciliation, so later ticks see the clock the test sets.
	if replica == "one" {
		waitKind(t, events, (schedule.TickArgs{}).Kind())
	}
	return b
}

// deployDev deploys dev at the head commit, as a promotion would, through an engine on the same
// backend and store.
func (w *scheduleWorld) deployDev(t *testing.T, st *store.Store) {
	t.Helper()
	r := w.runner(t, st)
	dir := t.TempDir()
	files, err := w.sim.Files("acme/shop", w.headSHA)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, files)
	if _, err := r.Up(context.Background(), engine.Request{Program: engine.LocalProgram(filepath.Join(dir, "infra")), Stack: "dev",
		Tags: map[string]string{engine.TagRepo: "acme/shop", engine.TagSHA: w.headSHA, engine.TagEnv: "dev"}}); err != nil {
		t.Fatalf("deploying dev: %v", err)
	}
}

func (w *scheduleWorld) runner(t *testing.T, st *store.Store) *engine.Runner {
	t.Helper()
	r, err := engine.New(engine.Config{PulumiCommand: w.tools.Pulumi, LanguageDirs: w.tools.LanguageDirs, BackendURL: w.backend,
		Passphrase: w.passphr, PulumiHome: filepath.Join(w.dataDir, "pulumi-home"), WorkDir: t.TempDir()}, st, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (w *scheduleWorld) outputs(t *testing.T, st *store.Store) map[string]engine.Output {
	t.Helper()
	return enginetest.StateOutputs(t, w.backend, "sleepy", "dev")
}

// tick runs one reconciliation and waits until it and the transitions it enqueued have finished.
// tickUntil ticks (as the periodic tick does every minute) until dev's state is want, at most three
// times: a tick that finds a transition still holding the stack leaves it to the next tick, which is
// the scheduler's guarantee (convergence by the next tick), not one tick per change.
func tickUntil(t *testing.T, b *bot.Bot, want string) store.SleepState {
	t.Helper()
	var st store.SleepState
	for range 3 {
		tick(t, b, 0)
		st, _ = b.Store().SleepState(context.Background(), "acme/shop", "dev", "dev")
		if st.State == want {
			break
		}
	}
	return st
}

func tick(t *testing.T, b *bot.Bot, transitions int) {
	t.Helper()
	events, cancel := b.Queue().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	// A tick still waiting or running saw an older clock: let it finish, then insert ours.
	for {
		res, err := b.Queue().Insert(context.Background(), schedule.TickArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.UniqueSkippedAsDuplicate {
			break
		}
		waitKind(t, events, (schedule.TickArgs{}).Kind())
	}
	timeout := time.After(3 * time.Minute)
	ticked := false
	for done := 0; done < transitions || !ticked; {
		select {
		case e := <-events:
			if e.Kind == river.EventKindJobFailed {
				t.Fatalf("%s failed: %v", e.Job.Kind, e.Job.Errors)
			}
			switch e.Job.Kind {
			case (schedule.TickArgs{}).Kind():
				ticked = true
			case (schedule.TransitionArgs{}).Kind():
				done++
			}
		case <-timeout:
			t.Fatal("timed out waiting for the tick and its transitions")
		}
	}
	// Transitions are not unique: one that found its stack's lease taken, or one queued by an earlier
	// tick, may have completed above while another still waits or works. Wait until none is left.
	for deadline := time.Now().Add(3 * time.Minute); ; {
		var n int
		if err := b.Store().DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = $1
			AND state IN ('available', 'pending', 'running', 'scheduled', 'retryable')`, (schedule.TransitionArgs{}).Kind()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transitions still queued or running", n)
		}
		time.Sleep(20 * time.Millisecond) // polling the job table
	}
}

// waitKind waits for a completed job of kind.
func waitKind(t *testing.T, events <-chan *river.Event, kind string) {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case e := <-events:
			if e.Job.Kind == kind {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for a %s job", kind)
		}
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScheduleEndToEnd(t *testing.T) {
	t.Parallel()
	w := newScheduleWorld(t, storetest.SQLite(t))
	b := w.newScheduleBot(t, "one")
	ctx := context.Background()
	w.deployDev(t, b.Store())

	t.Run("a weekday night puts dev to sleep through Pulumi", func(t *testing.T) {
		w.clock.Set(berlin(t, "2026-11-25 21:30")) // a bot down at 20:00 catches up
		tick(t, b, 1)
		out := w.outputs(t, b.Store())
		if out["sleeping"].Value != "true" || out["replicas"].Value != "2" {
			t.Fatalf("outputs = %v, want sleeping with the stack's own config kept", out)
		}
		st, err := b.Store().SleepState(ctx, "acme/shop", "dev", "dev")
		if err != nil || st.State != "asleep" {
			t.Fatalf("state = %+v, %v", st, err)
		}
		cfg, _ := b.Store().StackConfig(ctx, "acme/shop", "dev")
		if cfg["stagecoach:sleeping"] != "true" {
			t.Fatalf("bot config = %v", cfg)
		}
	})

	t.Run("a tick with nothing to change changes nothing", func(t *testing.T) {
		w.clock.Set(berlin(t, "2026-11-25 23:00"))
		tick(t, b, 0)
		st, _ := b.Store().SleepState(ctx, "acme/shop", "dev", "dev")
		if !st.ChangedAt.Equal(berlin(t, "2026-11-25 21:30")) {
			t.Fatalf("state changed at %v", st.ChangedAt)
		}
	})

	t.Run("the morning wakes it and restores the key exactly", func(t *testing.T) {
		w.clock.Set(berlin(t, "2026-11-26 07:01"))
		tick(t, b, 1)
		out := w.outputs(t, b.Store())
		if out["sleeping"].Value != "false" {
			t.Fatalf("outputs = %v", out)
		}
		cfg, _ := b.Store().StackConfig(ctx, "acme/shop", "dev")
		if _, ok := cfg["stagecoach:sleeping"]; ok {
			t.Fatalf("the key was unset before sleeping and is %q after waking", cfg["stagecoach:sleeping"])
		}
	})

	t.Run("the savings are in the metrics", func(t *testing.T) {
		rec := httptest.NewRecorder()
		b.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		for _, want := range []string{
			`stagecoach_schedule_awake_hours_per_week{environment="dev",repo="acme/shop"} 65`,
			`stagecoach_schedule_saved_ratio{environment="dev",repo="acme/shop"} 0.61`,
			`stagecoach_environment_asleep{environment="dev",repo="acme/shop"}`,
		} {
			if !strings.Contains(rec.Body.String(), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("/wake needs write access and sets an override that is confirmed", func(t *testing.T) {
		w.sim.SetCollaborator("acme/shop", "alice", "write")
		w.sim.SetCollaborator("acme/shop", "viewer", "read")
		w.sim.SetWebhookURL("http://" + b.Addr() + "/webhooks/github")
		pr, err := w.sim.OpenPR("acme/shop", githubsim.PROptions{Author: "alice", Files: map[string]string{"notes.txt": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		now := berlin(t, "2026-11-26 22:00") // Thursday night: dev sleeps
		w.clock.Set(now)
		if _, err := w.sim.Comment("acme/shop", pr.Number, "viewer", "/wake dev"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.sim.Comment("acme/shop", pr.Number, "alice", "/wake dev for 3h"); err != nil {
			t.Fatal(err)
		}
		ctx2, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		err = w.sim.WaitFor(ctx2, func() bool {
			var refused, confirmed bool
			for _, c := range w.sim.Comments("acme/shop", pr.Number) {
				refused = refused || strings.Contains(c.Body, "needs write access")
				confirmed = confirmed || strings.Contains(c.Body, "`dev` wakes now and stays awake until Fri 27 Nov 01:00 CET (set by @alice)")
			}
			return refused && confirmed
		})
		if err != nil {
			for _, c := range w.sim.Comments("acme/shop", pr.Number) {
				t.Logf("comment by %s: %s", c.Author, c.Body)
			}
			t.Fatalf("waiting for the answers: %v", err)
		}
		o, err := b.Store().SleepOverrides(ctx, "acme/shop")
		if err != nil || o["dev"].SetBy != "alice" || !o["dev"].Until.Equal(now.Add(3*time.Hour)) || o["dev"].State != "awake" {
			t.Fatalf("overrides = %+v, %v", o, err)
		}
	})

	t.Run("a /sleep override puts it to sleep in the day and expires", func(t *testing.T) {
		now := berlin(t, "2026-11-26 10:00")
		w.clock.Set(now)
		if err := b.Store().SetSleepOverride(ctx, store.SleepOverride{Repo: "acme/shop", Environment: "dev", State: "asleep",
			Until: now.Add(time.Hour), SetBy: "alice", SetAt: now}); err != nil {
			t.Fatal(err)
		}
		if st := tickUntil(t, b, "asleep"); st.State != "asleep" {
			t.Fatalf("with the override: %+v", st)
		}
		w.clock.Set(now.Add(61 * time.Minute))
		if st := tickUntil(t, b, "awake"); st.State != "awake" {
			t.Fatalf("after the override: %+v", st)
		}
	})
}

func TestScheduleWaitsForAnOperationInFlight(t *testing.T) {
	t.Parallel()
	w := newScheduleWorld(t, storetest.SQLite(t))
	b := w.newScheduleBot(t, "one")
	w.deployDev(t, b.Store())
	ctx := context.Background()

	// Another operation holds the stack's lease (as a promotion would while deploying).
	key := "pulumi-stack:" + w.backend + "#organization/sleepy/dev"
	if ok, err := b.Store().TryAcquire(ctx, key, "a-promotion", time.Hour); err != nil || !ok {
		t.Fatalf("taking the lease: %v %v", ok, err)
	}
	w.clock.Set(berlin(t, "2026-11-25 21:00"))
	events, cancel := b.Queue().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	if _, err := b.Queue().Insert(ctx, schedule.TickArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	// The tick completes and enqueues the transition, which now waits on the lease.
	for e := range events {
		if e.Job.Kind == (schedule.TickArgs{}).Kind() {
			break
		}
	}
	if st, err := b.Store().SleepState(ctx, "acme/shop", "dev", "dev"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("applied while another operation held the stack: %+v", st)
	}
	if err := b.Store().Release(ctx, key, "a-promotion"); err != nil {
		t.Fatal(err)
	}
	for e := range events {
		if e.Job.Kind == (schedule.TransitionArgs{}).Kind() {
			if e.Kind == river.EventKindJobFailed {
				t.Fatalf("transition failed: %v", e.Job.Errors)
			}
			break
		}
	}
	if st, _ := b.Store().SleepState(ctx, "acme/shop", "dev", "dev"); st.State != "asleep" {
		t.Fatalf("after the lease was released: %+v", st)
	}
}

func TestScheduleTwoReplicasApplyOnce(t *testing.T) {
	t.Parallel()
	w := newScheduleWorld(t, storetest.Postgres(t))
	ctx := context.Background()
	// dev runs, and it is 21:00 on a Wednesday when both replicas start: each wants dev asleep.
	w.deployDev(t, storetest.Open(t, w.db))
	w.clock.Set(berlin(t, "2026-11-25 21:00"))
	var counts sync.Map // job kind → *int, across both replicas
	var mu sync.Mutex
	count := func(kind string) int {
		mu.Lock()
		defer mu.Unlock()
		if v, ok := counts.Load(kind); ok {
			return *v.(*int)
		}
		return 0
	}
	changed := make(chan struct{}, 64)
	var bots []*bot.Bot
	for _, name := range []string{"a", "b"} {
		b := w.newScheduleBot(t, name)
		events, cancel := b.Queue().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
		t.Cleanup(cancel)
		go func() {
			for e := range events {
				mu.Lock()
				v, _ := counts.LoadOrStore(e.Job.Kind, new(int))
				*v.(*int)++
				mu.Unlock()
				changed <- struct{}{}
			}
		}()
		bots = append(bots, b)
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		timeout := time.After(3 * time.Minute)
		poll := time.NewTicker(500 * time.Millisecond) // also re-checks between job events
		defer poll.Stop()
		for !cond() {
			select {
			case <-changed:
			case <-poll.C:
			case <-timeout:
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	asleep := func() (store.SleepState, bool) {
		st, err := bots[0].Store().SleepState(ctx, "acme/shop", "dev", "dev")
		return st, err == nil && st.State == "asleep"
	}
	updates0 := w.succeededUpdates(t, "dev")
	// Both replicas reconcile, more than once. A transition job that finds the other replica's
	// transition holding the stack ends at once, so the test waits for the effect, not for a job.
	for _, b := range bots {
		if _, err := b.Queue().Insert(ctx, schedule.TickArgs{Repo: "acme/shop"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil("dev asleep", func() bool { _, ok := asleep(); return ok })
	first, _ := asleep()
	ticks := count((schedule.TickArgs{}).Kind())
	for _, b := range bots {
		if _, err := b.Queue().Insert(ctx, schedule.TickArgs{Repo: "acme/shop"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil("ticks after the transition", func() bool { return count((schedule.TickArgs{}).Kind()) >= ticks+2 })
	waitUntil("no transition running", func() bool {
		free, err := lease.Free(ctx, bots[0].Store(), "schedule:acme/shop/dev")
		return err == nil && free
	})
	if st, ok := asleep(); !ok || !st.ChangedAt.Equal(first.ChangedAt) {
		t.Fatalf("state %+v after more ticks, want asleep since %s (applied once)", st, first.ChangedAt)
	}
	if n := w.succeededUpdates(t, "dev") - updates0; n != 1 {
		t.Fatalf("%d updates of dev, want exactly 1", n)
	}
}

func testLogger(replica string) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", replica)
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// succeededUpdates counts the successful `pulumi up` runs in stack's history in the file backend.
func (w *scheduleWorld) succeededUpdates(t *testing.T, stack string) int {
	t.Helper()
	n := 0
	root := filepath.Join(w.dataDir, "state", ".pulumi", "history")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(filepath.Dir(p)) != stack || !strings.HasSuffix(p, ".history.json") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var h struct {
			Kind   string `json:"kind"`
			Result string `json:"result"`
		}
		if err := json.Unmarshal(b, &h); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if h.Kind == "update" && h.Result == "succeeded" {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}
