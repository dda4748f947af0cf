package engine_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
)

// blockingProgram is demoProgram that first says it runs (the stack lease and Pulumi's lock are held by
// then) and waits for proceed, or for the engine to cancel it.
func blockingProgram(running chan<- struct{}, proceed <-chan struct{}) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		if !ctx.DryRun() {
			running <- struct{}{}
			select {
			case <-proceed:
			case <-ctx.Context().Done():
				return ctx.Context().Err()
			}
		}
		return demoProgram(ctx)
	}
}

// waitRunning waits until a blocking program runs, failing if its operation ends first.
func waitRunning(t *testing.T, running <-chan struct{}, done <-chan error) {
	t.Helper()
	select {
	case <-running:
	case err := <-done:
		t.Fatalf("the operation ended before its program ran: %v", err)
	}
}

// once returns a function that closes ch the first time it is called.
func once(ch chan struct{}) func() {
	var o sync.Once
	return func() { o.Do(func() { close(ch) }) }
}

// lockFiles lists Pulumi's lock files for a stack of the demo project in a file backend.
func lockFiles(t *testing.T, cfg engine.Config, stack string) []string {
	t.Helper()
	dir := filepath.Join(strings.TrimPrefix(cfg.BackendURL, "file://"), ".pulumi", "locks", "organization", "demo", stack)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, filepath.Join(dir, e.Name()))
	}
	return names
}

func TestOperationsOnOneStackAreSerialised(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, leases, _ := enginetest.NewRunner(t, enginetest.Config(t))

	// The first update holds the stack until the second has been refused the lease at least once.
	refused := make(chan struct{})
	closeRefused := once(refused)
	leases.OnEvent = func(ev enginetest.LeaseEvent) {
		if ev.Action == "refuse" {
			closeRefused()
		}
	}
	running := make(chan struct{}, 1)
	first := demoRequest("serial", "one")
	first.Program = engine.InlineProgram("demo", blockingProgram(running, refused))

	type outcome struct {
		res engine.Result
		err error
	}
	firstDone := make(chan outcome, 1)
	go func() {
		res, err := r.Up(ctx, first)
		firstDone <- outcome{res, err}
	}()
	select {
	case <-running:
	case o := <-firstDone:
		t.Fatalf("first Up ended before its program ran: %v", o.err)
	}
	second, err := r.Up(ctx, demoRequest("serial", "two"))
	one := <-firstDone
	if one.err != nil || err != nil {
		t.Fatalf("first Up: %v; second Up: %v", one.err, err)
	}
	if one.res.Outputs["greeting"].Value != "one" || second.Outputs["greeting"].Value != "two" {
		t.Errorf("greetings = %q then %q, want one then two", one.res.Outputs["greeting"].Value, second.Outputs["greeting"].Value)
	}

	// The lease history shows the second operation waiting for the first to release the stack.
	var order []string
	holders := map[string]string{}
	for _, ev := range leases.History() {
		if ev.Action == "renew" {
			continue
		}
		name, ok := holders[ev.Holder]
		if !ok {
			name = []string{"first", "second"}[min(len(holders), 1)]
			holders[ev.Holder] = name
		}
		if ev.Action == "refuse" && len(order) > 0 && order[len(order)-1] == "second refuse" {
			continue // polling
		}
		order = append(order, name+" "+ev.Action)
	}
	want := []string{"first acquire", "second refuse", "first release", "second acquire", "second release"}
	if !slices.Equal(order, want) {
		t.Errorf("lease history = %q, want %q", order, want)
	}
}

func TestCancelledOperationLeavesNoLock(t *testing.T) {
	t.Parallel()
	cfg := enginetest.Config(t)
	r, leases, _ := enginetest.NewRunner(t, cfg)
	running := make(chan struct{}, 1)
	req := demoRequest("cancel", "hello")
	req.Program = engine.InlineProgram("demo", blockingProgram(running, nil))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Up(ctx, req)
		done <- err
	}()
	waitRunning(t, running, done)
	cancel()
	err := <-done
	var opErr *engine.OperationError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &opErr) {
		t.Fatalf("cancelled Up = %v, want an OperationError wrapping context.Canceled", err)
	}
	if opErr.Result.Succeeded || !slices.Contains(opErr.Result.Errors, "the operation was cancelled") {
		t.Errorf("result = %+v, want a failure saying it was cancelled", opErr.Result)
	}
	if key := leases.History()[0].Key; true {
		if h, held := leases.Holder(key); held {
			t.Errorf("lease %s still held by %s", key, h)
		}
	}
	if locks := lockFiles(t, cfg, "cancel"); len(locks) != 0 {
		t.Errorf("Pulumi lock files left: %q", locks)
	}
	if _, err := r.Up(context.Background(), demoRequest("cancel", "hello")); err != nil {
		t.Errorf("Up after the cancelled one: %v", err)
	}
}

func TestStaleLockOfAKilledOperation(t *testing.T) {
	t.Parallel()
	cfg := enginetest.Config(t)
	cfg.CancelGrace = time.Nanosecond // SIGKILL right after SIGINT: the CLI dies holding its lock
	r, leases, logs := enginetest.NewRunner(t, cfg)
	// The stack exists first, so the update killed below is idle in its program, not writing state.
	if _, err := r.Up(context.Background(), demoRequest("killed", "hello")); err != nil {
		t.Fatalf("first Up: %v", err)
	}
	running := make(chan struct{}, 1)
	req := demoRequest("killed", "hello")
	req.Program = engine.InlineProgram("demo", blockingProgram(running, nil))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Up(ctx, req)
		done <- err
	}()
	waitRunning(t, running, done)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("killed Up = %v, want context.Canceled", err)
	}
	key := leases.History()[0].Key
	if h, held := leases.Holder(key); held {
		t.Fatalf("lease still held by %s after the operation returned", h)
	}
	if locks := lockFiles(t, cfg, "killed"); len(locks) == 0 {
		t.Fatal("the killed CLI left no lock file; this test needs one")
	}

	t.Run("while another replica holds the lease the lock is left alone", func(t *testing.T) {
		leases.Grant(key, "replica-2", time.Now().Add(time.Hour))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		leases.OnEvent = func(ev enginetest.LeaseEvent) {
			if ev.Action == "refuse" {
				cancel()
			}
		}
		_, err := r.Up(ctx, demoRequest("killed", "hello"))
		leases.OnEvent = nil
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Up while the lease is taken = %v, want it to wait until cancelled", err)
		}
		if locks := lockFiles(t, cfg, "killed"); len(locks) == 0 {
			t.Error("the lock file was removed while another replica held the lease")
		}
	})

	t.Run("once that lease expires the lock is cleared and the operation runs", func(t *testing.T) {
		leases.Expire(key)
		res, err := r.Up(context.Background(), demoRequest("killed", "hello"))
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		if locks := lockFiles(t, cfg, "killed"); len(locks) != 0 {
			t.Errorf("lock files left: %q", locks)
		}
		l, _ := logs.Get(res.LogID)
		if !strings.Contains(l.Text, "Clearing the stale lock") {
			t.Errorf("the log does not say the stale lock was cleared:\n%s", l.Text)
		}
	})
}

// signalHandler is a slog handler that closes a channel when a record with a given message arrives.
type signalHandler struct {
	slog.Handler
	msg    string
	signal func()
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.signal()
	}
	return h.Handler.Handle(ctx, r)
}

func (h signalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return signalHandler{h.Handler.WithAttrs(as), h.msg, h.signal}
}

func TestOperationSlotsLimitConcurrentPulumiProcesses(t *testing.T) {
	t.Parallel()
	cfg := enginetest.Config(t)
	cfg.MaxConcurrent = 1
	waiting := make(chan struct{})
	logger := slog.New(signalHandler{slog.DiscardHandler, "waiting for an operation slot", once(waiting)})
	r, err := engine.New(cfg, enginetest.NewLeases(nil), nil, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{}, 1)
	first := demoRequest("slot-a", "a")
	first.Program = engine.InlineProgram("demo", blockingProgram(running, waiting))
	firstDone := make(chan error, 1)
	go func() {
		_, err := r.Up(context.Background(), first)
		firstDone <- err
	}()
	waitRunning(t, running, firstDone)
	// Another stack, so no lease is in the way: only the slot makes it wait for the first.
	if _, err := r.Up(context.Background(), demoRequest("slot-b", "b")); err != nil {
		t.Errorf("second Up: %v", err)
	}
	if err := <-firstDone; err != nil {
		t.Errorf("first Up: %v", err)
	}
	select {
	case <-waiting:
	default:
		t.Error("the second operation never waited for a slot")
	}
}

// manualClock is a Clock whose timers fire when the test says so; Now is the real time.
type manualClock struct {
	mu     sync.Mutex
	timers []chan time.Time
	armed  chan struct{} // receives once per After call
}

func newManualClock() *manualClock { return &manualClock{armed: make(chan struct{}, 100)} }

func (c *manualClock) Now() time.Time { return time.Now() }

func (c *manualClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	c.timers = append(c.timers, ch)
	c.mu.Unlock()
	c.armed <- struct{}{}
	return ch
}

// fire makes every pending timer go off.
func (c *manualClock) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.timers {
		ch <- time.Now()
	}
	c.timers = nil
}

func TestLostLeaseStopsTheOperation(t *testing.T) {
	t.Parallel()
	cfg := enginetest.Config(t)
	leases, clock := enginetest.NewLeases(nil), newManualClock()
	r, err := engine.New(cfg, leases, nil, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	running := make(chan struct{}, 1)
	req := demoRequest("lost", "hello")
	req.Program = engine.InlineProgram("demo", blockingProgram(running, nil))
	done := make(chan error, 1)
	go func() {
		_, err := r.Up(context.Background(), req)
		done <- err
	}()
	waitRunning(t, running, done)
	<-clock.armed // the renewal timer
	key := leases.History()[0].Key
	leases.Grant(key, "replica-2", time.Now().Add(time.Hour)) // as if our lease had expired and been taken
	clock.fire()

	err = <-done
	var opErr *engine.OperationError
	if !errors.Is(err, engine.ErrLeaseLost) || !errors.As(err, &opErr) {
		t.Fatalf("Up = %v, want an OperationError wrapping ErrLeaseLost", err)
	}
	if want := "the operation was stopped because its stack lease could not be renewed"; len(opErr.Result.Errors) == 0 || opErr.Result.Errors[0] != want {
		t.Errorf("errors = %q, want %q first", opErr.Result.Errors, want)
	}
	if h, _ := leases.Holder(key); h != "replica-2" {
		t.Errorf("lease holder = %q, want the other replica's lease untouched", h)
	}
}
