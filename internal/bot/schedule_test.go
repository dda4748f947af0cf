package bot_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/stagecoach/stagecoach/internal/bot"
	"github.com/stagecoach/stagecoach/internal/bot/bottest"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/schedule"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
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

func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newScheduleWorld is a repository whose dev environment sleeps on weekday nights, with the real
// Pulumi engine and a stopped clock at noon on a Wednesday; bots are started on it by the test.
func newScheduleWorld(t *testing.T, db store.Options) *bottest.World {
	t.Helper()
	return bottest.New(t, bottest.Pulumi(), bottest.Database(db), bottest.Files(sleepyProject),
		bottest.WithClock(bottest.ClockAt(berlin(t, "2026-11-25 12:00"))))
}

func TestScheduleEndToEnd(t *testing.T) {
	t.Parallel()
	w := newScheduleWorld(t, storetest.SQLite(t))
	b := w.StartBot(bottest.BotOptions{Replica: "one", Scheduled: true, AwaitStartTick: true})
	ctx := context.Background()
	w.Deploy(b.Store(), "dev")

	w.Run(t, "a weekday night puts dev to sleep through Pulumi", func(t *testing.T) {
		w.Clock.Set(berlin(t, "2026-11-25 21:30")) // a bot down at 20:00 catches up
		w.Tick(1)
		out := w.Outputs("sleepy", "dev")
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

	w.Run(t, "a tick with nothing to change changes nothing", func(t *testing.T) {
		w.Clock.Set(berlin(t, "2026-11-25 23:00"))
		w.Tick(0)
		st, _ := b.Store().SleepState(ctx, "acme/shop", "dev", "dev")
		if !st.ChangedAt.Equal(berlin(t, "2026-11-25 21:30")) {
			t.Fatalf("state changed at %v", st.ChangedAt)
		}
	})

	w.Run(t, "the morning wakes it and restores the key exactly", func(t *testing.T) {
		w.Clock.Set(berlin(t, "2026-11-26 07:01"))
		w.Tick(1)
		out := w.Outputs("sleepy", "dev")
		if out["sleeping"].Value != "false" {
			t.Fatalf("outputs = %v", out)
		}
		cfg, _ := b.Store().StackConfig(ctx, "acme/shop", "dev")
		if _, ok := cfg["stagecoach:sleeping"]; ok {
			t.Fatalf("the key was unset before sleeping and is %q after waking", cfg["stagecoach:sleeping"])
		}
	})

	w.Run(t, "the savings are in the metrics", func(t *testing.T) {
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

	w.Run(t, "/wake needs write access and sets an override that is confirmed", func(t *testing.T) {
		w.Sim.SetWebhookURL("http://" + b.Addr() + "/webhooks/github")
		pr := w.OpenPR(githubsim.PROptions{Author: "alice", Files: map[string]string{"notes.txt": "x"}})
		now := berlin(t, "2026-11-26 22:00") // Thursday night: dev sleeps
		w.Clock.Set(now)
		w.Comment(pr.Number, "viewer", "/wake dev")
		w.Comment(pr.Number, "alice", "/wake dev for 3h")
		w.Wait("the answers", func() bool {
			return w.Commented(pr.Number, "needs write access") &&
				w.Commented(pr.Number, "`dev` wakes now and stays awake until Fri 27 Nov 01:00 CET (set by @alice)")
		})
		o, err := b.Store().SleepOverrides(ctx, "acme/shop")
		if err != nil || o["dev"].SetBy != "alice" || !o["dev"].Until.Equal(now.Add(3*time.Hour)) || o["dev"].State != "awake" {
			t.Fatalf("overrides = %+v, %v", o, err)
		}
	})

	w.Run(t, "a /sleep override puts it to sleep in the day and expires", func(t *testing.T) {
		now := berlin(t, "2026-11-26 10:00")
		w.Clock.Set(now)
		if err := b.Store().SetSleepOverride(ctx, store.SleepOverride{Repo: "acme/shop", Environment: "dev", State: "asleep",
			Until: now.Add(time.Hour), SetBy: "alice", SetAt: now}); err != nil {
			t.Fatal(err)
		}
		if st := w.TickUntil("dev", "asleep"); st.State != "asleep" {
			t.Fatalf("with the override: %+v", st)
		}
		w.Clock.Set(now.Add(61 * time.Minute))
		if st := w.TickUntil("dev", "awake"); st.State != "awake" {
			t.Fatalf("after the override: %+v", st)
		}
	})
}

func TestScheduleWaitsForAnOperationInFlight(t *testing.T) {
	t.Parallel()
	w := newScheduleWorld(t, storetest.SQLite(t))
	b := w.StartBot(bottest.BotOptions{Replica: "one", Scheduled: true, AwaitStartTick: true})
	w.Deploy(b.Store(), "dev")
	ctx := context.Background()

	// Another operation holds the stack's lease (as a promotion would while deploying).
	key := "pulumi-stack:" + w.Backend + "#organization/sleepy/dev"
	if ok, err := b.Store().TryAcquire(ctx, key, "a-promotion", time.Hour); err != nil || !ok {
		t.Fatalf("taking the lease: %v %v", ok, err)
	}
	w.Clock.Set(berlin(t, "2026-11-25 21:00"))
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
	w.Deploy(storetest.Open(t, w.DB), "dev")
	w.Clock.Set(berlin(t, "2026-11-25 21:00"))
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
		b := w.StartBot(bottest.BotOptions{Replica: name, Scheduled: true})
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
	updates0 := w.SucceededUpdates("dev")
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
	if n := w.SucceededUpdates("dev") - updates0; n != 1 {
		t.Fatalf("%d updates of dev, want exactly 1", n)
	}
}
