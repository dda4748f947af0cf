package lease_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/lease"
	"github.com/stagecoach/stagecoach/internal/store/storetest"
)

// tables runs f against the in-memory table and the real store on SQLite and Postgres.
func tables(t *testing.T, f func(t *testing.T, tb lease.Table)) {
	t.Run("memory", func(t *testing.T) { t.Parallel(); f(t, &lease.Memory{}) })
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			f(t, storetest.Open(t, e.NewOptions(t)))
		})
	}
}

// subject is a counter pair: wanted is what the store records, applied what work achieved.
type subject struct {
	mu              sync.Mutex
	wanted, applied int
}

func (s *subject) want() { s.mu.Lock(); s.wanted++; s.mu.Unlock() }
func (s *subject) pending(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied < s.wanted, nil
}

// A change recorded after the holder read what is wanted, whose own job found the lease taken and
// ended, is still applied: the holder looks again after letting go. This is the push that was
// lost when "unique while running" skipped the follow-up job of a job that had already returned.
func TestConvergeTakesUpAChangeRecordedWhileWorking(t *testing.T) {
	t.Parallel()
	tables(t, func(t *testing.T, tb lease.Table) {
		ctx := context.Background()
		s := &subject{}
		s.want()
		read, proceed := make(chan struct{}), make(chan struct{})
		var rounds atomic.Int32
		work := func(context.Context) error {
			s.mu.Lock()
			target := s.wanted // what the holder saw
			s.mu.Unlock()
			if rounds.Add(1) == 1 {
				close(read)
				<-proceed
			}
			s.mu.Lock()
			s.applied = target
			s.mu.Unlock()
			return nil
		}
		sub := lease.Subject{Key: "k", Pending: s.pending, Work: work}
		done := make(chan error, 1)
		go func() { done <- lease.Converge(ctx, tb, sub) }()
		<-read
		// The push: recorded, then its own job runs while the first holds the lease.
		s.want()
		if err := lease.Converge(ctx, tb, sub); err != nil {
			t.Fatalf("second job: %v", err)
		}
		if got := rounds.Load(); got != 1 {
			t.Fatalf("the second job worked although the lease was held (%d rounds)", got)
		}
		close(proceed)
		if err := <-done; err != nil {
			t.Fatalf("first job: %v", err)
		}
		if s.applied != s.wanted || rounds.Load() != 2 {
			t.Fatalf("applied %d of wanted %d in %d rounds; the change recorded during work was lost", s.applied, s.wanted, rounds.Load())
		}
	})
}

// A holder that stops renewing (a killed process) keeps the subject for one TTL, not longer.
func TestALeaseOfADeadHolderExpiresWithinItsTTL(t *testing.T) {
	t.Parallel()
	tables(t, func(t *testing.T, tb lease.Table) {
		ctx := context.Background()
		const ttl = 600 * time.Millisecond
		if ok, err := tb.TryAcquire(ctx, "k", "dead-process", ttl); err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		if free, _ := lease.Free(ctx, tb, "k"); free {
			t.Fatal("a fresh lease reads as free")
		}
		deadline := time.Now().Add(5 * ttl)
		for {
			free, err := lease.Free(ctx, tb, "k")
			if err != nil {
				t.Fatal(err)
			}
			if free {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the dead holder's lease did not expire")
			}
			time.Sleep(20 * time.Millisecond) // polling the store's clock, which moves with real time
		}
		ran := false
		err := lease.Converge(ctx, tb, lease.Subject{Key: "k", TTL: ttl,
			Pending: func(context.Context) (bool, error) { return false, nil },
			Work:    func(context.Context) error { ran = true; return nil }})
		if err != nil || !ran {
			t.Fatalf("the next worker did not take over: ran=%v err=%v", ran, err)
		}
	})
}

// A live holder keeps its lease past the TTL by renewing it, so a sweep never hands its subject
// to a second worker while an operation runs for longer than the TTL.
func TestAHeldLeaseIsRenewedWhileWorkRuns(t *testing.T) {
	t.Parallel()
	tables(t, func(t *testing.T, tb lease.Table) {
		ctx := context.Background()
		const ttl = 600 * time.Millisecond
		h, ok, err := lease.TryHold(ctx, tb, "k", ttl, nil)
		if err != nil || !ok {
			t.Fatalf("hold: %v %v", ok, err)
		}
		defer h.Release()
		end := time.Now().Add(3 * ttl)
		for time.Now().Before(end) {
			if free, err := lease.Free(ctx, tb, "k"); err != nil || free {
				t.Fatalf("the lease of a live holder went free (err %v)", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if h.Lost() {
			t.Fatal("the holder lost its lease")
		}
	})
}

// A failure pauses the subject for a growing time, recorded in the lease, so no sweep retries it
// sooner; success clears the count.
func TestAFailurePausesTheSubjectForAGrowingTime(t *testing.T) {
	t.Parallel()
	tables(t, func(t *testing.T, tb lease.Table) {
		ctx := context.Background()
		boom := errors.New("boom")
		var pauses []int
		sub := lease.Subject{Key: "k", Pending: func(context.Context) (bool, error) { return false, nil },
			Work:  func(context.Context) error { return boom },
			Retry: func(n int) time.Duration { pauses = append(pauses, n); return time.Millisecond }}
		for i := 1; i <= 3; i++ {
			if err := lease.Converge(ctx, tb, sub); !errors.Is(err, boom) {
				t.Fatalf("failure %d: %v", i, err)
			}
			holder, _, err := tb.LeaseHolder(ctx, "k")
			if err != nil || lease.Failures(holder) != i {
				t.Fatalf("after failure %d the lease records %q (%d failures)", i, holder, lease.Failures(holder))
			}
			for free, _ := lease.Free(ctx, tb, "k"); !free; free, _ = lease.Free(ctx, tb, "k") {
				time.Sleep(2 * time.Millisecond)
			}
		}
		if len(pauses) < 3 || pauses[0] != 1 || pauses[len(pauses)-1] != 3 {
			t.Fatalf("pauses asked for %v, want growing counts 1..3", pauses)
		}
		// While paused, nobody works.
		long := sub
		long.Retry = func(int) time.Duration { return time.Hour }
		_ = lease.Converge(ctx, tb, long)
		ran := false
		_ = lease.Converge(ctx, tb, lease.Subject{Key: "k", Pending: sub.Pending, Work: func(context.Context) error { ran = true; return nil }})
		if ran {
			t.Fatal("a paused subject was worked before its pause ended")
		}
	})
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	if lease.Backoff(1) != 5*time.Second || lease.Backoff(2) != 10*time.Second || lease.Backoff(30) != 10*time.Minute {
		t.Fatalf("backoff: %s %s %s", lease.Backoff(1), lease.Backoff(2), lease.Backoff(30))
	}
}

func TestKicksAreNotRepeatedWithinTheirInterval(t *testing.T) {
	t.Parallel()
	var k lease.Kicks
	now := time.Unix(1000, 0)
	if !k.Due("a", now) || k.Due("a", now.Add(time.Second)) || !k.Due("b", now) || !k.Due("a", now.Add(31*time.Second)) {
		t.Fatal("kicks: wrong due decisions")
	}
}

func TestDeadHereRecognisesStoppedProcessesOfThisHost(t *testing.T) {
	t.Parallel()
	me := lease.Process()
	parts := strings.SplitN(me, "/", 3)
	host, pid := parts[0], parts[1]
	for _, tc := range []struct {
		holder string
		dead   bool
	}{
		{me + "/7", false},                                                                // this process
		{host + "/" + pid + "/00000000/7", true},                                          // this pid, another incarnation (a restarted container)
		{host + "/999999999/00000000/7", true},                                            // a pid that does not run
		{host + "/1/00000000/7", false},                                                   // a live process (init)
		{"another-host/999999999/00000000/7", false},                                      // another machine: its lease expires by TTL
		{strings.SplitN(host, "@", 2)[0] + "@0123456789ab/" + pid + "/00000000/7", false}, // same host name, another pid namespace
		{strings.SplitN(host, "@", 2)[0] + "/999999999/00000000/7", false},                // no place recorded
		{"retry-pause#3", false},
	} {
		if got := lease.DeadHere(tc.holder); got != tc.dead {
			t.Errorf("DeadHere(%q) = %v, want %v", tc.holder, got, tc.dead)
		}
	}
}

func TestReclaimDeadHereFreesOnlyDeadLocalHolders(t *testing.T) {
	t.Parallel()
	tables(t, func(t *testing.T, tb lease.Table) {
		ctx := context.Background()
		host := strings.SplitN(lease.Process(), "/", 2)[0]
		dead, live := host+"/999999999/00000000/1", lease.Process()+"/1"
		for key, holder := range map[string]string{"a": dead, "b": live} {
			if ok, err := tb.TryAcquire(ctx, key, holder, time.Minute); err != nil || !ok {
				t.Fatal(err)
			}
		}
		lister := listFunc(func(context.Context) (map[string]string, error) { return map[string]string{"a": dead, "b": live}, nil })
		if err := lease.ReclaimDeadHere(ctx, tb, lister, nil); err != nil {
			t.Fatal(err)
		}
		if free, _ := lease.Free(ctx, tb, "a"); !free {
			t.Fatal("the dead process's lease was not taken back")
		}
		if free, _ := lease.Free(ctx, tb, "b"); free {
			t.Fatal("a live holder's lease was taken")
		}
	})
}

type listFunc func(context.Context) (map[string]string, error)

func (f listFunc) LiveLeases(ctx context.Context) (map[string]string, error) { return f(ctx) }
