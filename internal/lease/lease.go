// Package lease holds named, expiring locks shared by every replica, keeps them alive with
// heartbeats while work runs, and reconciles a subject (a PR environment, an environment's
// promotions, a delivery) to what the store says is wanted.
//
// The rule it implements: what is wanted is recorded in the store first; then anyone may be
// asked to converge the subject (a job, a sweep, a restarted replica). Exactly one holder works
// at a time, and a holder looks at what is wanted once more after letting go, so a change recorded
// while it worked is never left for nobody. A crashed holder stops renewing; its lease expires
// within one TTL and the next sweep hands the subject to someone else. Nothing here depends on
// the job queue's view of which jobs are still running.
package lease

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTTL is how long a lease outlives a holder that stopped renewing it (a killed process).
// It is renewed every third of it, so a live holder never loses it to a slow database round trip.
const DefaultTTL = 15 * time.Second

// ErrLost is the cause of a holder's context when its lease could not be renewed for a whole TTL or
// went to another holder: the work must stop, someone else may be doing it now.
var ErrLost = errors.New("lease lost")

// Table is where leases live; *store.Store satisfies it.
type Table interface {
	// TryAcquire takes key for holder until now+ttl when it is free, expired, or already holder's.
	TryAcquire(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)
	// Release gives key up when holder has it.
	Release(ctx context.Context, key, holder string) error
	// LeaseHolder reports who holds or last held key ("" when nobody ever did or it was released)
	// and whether that lease is still live.
	LeaseHolder(ctx context.Context, key string) (holder string, live bool, err error)
}

// process names this process in holder strings: where it runs, its pid and a random part, so two
// processes never share a holder even when a pid is reused (a container's pid 1).
var process = func() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", here(), os.Getpid(), hex.EncodeToString(b))
}()

// here names the space in which this process's pid means something: the host name and, on Linux,
// the boot and the pid namespace. Two containers given the same host name, each with its own pid 1,
// are different places, so neither ever takes the other's leases for a dead process's. Where the
// namespace cannot be read, here is the bare host name and DeadHere never answers yes.
func here() string {
	host, _ := os.Hostname()
	boot, err1 := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, err2 := os.Readlink("/proc/self/ns/pid")
	if err1 != nil || err2 != nil {
		return host
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(boot)) + " " + ns))
	return host + "@" + hex.EncodeToString(sum[:6])
}

// Process is this process's part of every holder name: "host@place/pid/random". The engine names its
// stack-lease holders with it too, so DeadHere recognises them.
func Process() string { return process }

// DeadHere reports whether holder names a process in this place (host, boot and pid namespace; see
// here) that no longer runs: its pid is
// gone, or it is this process's pid with another random part (a restarted container, whose pid is 1
// again). A bot restarted on the same machine takes such leases back at once instead of waiting a
// TTL; leases of other hosts, and of live processes, are left to expire.
func DeadHere(holder string) bool {
	parts := strings.SplitN(holder, "/", 4)
	me := strings.SplitN(process, "/", 3)
	if len(parts) < 3 || parts[0] != me[0] || !strings.Contains(me[0], "@") {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return parts[2] != me[2]
	}
	return !alive(pid)
}

var seq atomic.Int64

// Lister lists live leases; *store.Store satisfies it through a small adapter in the wiring.
type Lister interface {
	LiveLeases(ctx context.Context) (map[string]string, error) // key → holder
}

// ReclaimDeadHere releases every lease held by a process of this host that no longer runs (see
// DeadHere). The bot calls it when it starts, before it takes any lease, so a restart resumes the
// killed process's work within seconds.
func ReclaimDeadHere(ctx context.Context, t Table, l Lister, log *slog.Logger) error {
	leases, err := l.LiveLeases(ctx)
	if err != nil {
		return err
	}
	for key, holder := range leases {
		if !DeadHere(holder) {
			continue
		}
		if err := t.Release(ctx, key, holder); err != nil {
			return err
		}
		if log != nil {
			log.Info("took back a lease of a process that no longer runs", "lease", key, "holder", holder)
		}
	}
	return nil
}

// NewHolder returns a holder name unique to this call in this process.
func NewHolder() string { return process + "/" + strconv.FormatInt(seq.Add(1), 10) }

// Held is a lease this process holds and renews until Release.
type Held struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	table  Table
	key    string
	holder string
	ttl    time.Duration
	stop   chan struct{}
	done   chan struct{}
	log    *slog.Logger
}

// TryHold takes key for a new holder and renews it every ttl/3 until Release. ok is false, with no
// error, when another holder has it. ttl <= 0 means DefaultTTL.
func TryHold(ctx context.Context, t Table, key string, ttl time.Duration, log *slog.Logger) (*Held, bool, error) {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	holder := NewHolder()
	ok, err := t.TryAcquire(ctx, key, holder, ttl)
	if err != nil || !ok {
		return nil, false, err
	}
	hctx, cancel := context.WithCancelCause(ctx)
	h := &Held{ctx: hctx, cancel: cancel, table: t, key: key, holder: holder, ttl: ttl,
		stop: make(chan struct{}), done: make(chan struct{}), log: log}
	go h.renew(context.WithoutCancel(ctx))
	return h, true, nil
}

// Context is cancelled, with ErrLost as its cause, when the lease is lost, and when the context
// TryHold was given ends.
func (h *Held) Context() context.Context { return h.ctx }

// Key is the lease's name.
func (h *Held) Key() string { return h.key }

// Lost reports whether the lease was lost while held.
func (h *Held) Lost() bool { return errors.Is(context.Cause(h.ctx), ErrLost) }

// Release stops renewing and gives the lease up. It is safe to call more than once.
func (h *Held) Release() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A lease not released expires by itself within one TTL.
	h.giveUp(ctx)
}

// giveUp stops renewing and releases the lease in the table. It reports false when the lease was
// given up before or releasing it failed (which it logs).
func (h *Held) giveUp(ctx context.Context) bool {
	select {
	case <-h.stop:
		return false
	default:
	}
	close(h.stop)
	<-h.done
	h.cancel(nil)
	if err := h.table.Release(ctx, h.key, h.holder); err != nil {
		h.log.Warn("releasing a lease", "lease", h.key, "error", err)
		return false
	}
	return true
}

// Park gives the lease to a placeholder until now+d instead of releasing it: nobody takes the
// subject up before then (a retry pause after a failure). The placeholder's name records n, the
// number of failures in a row, so the next pause can grow (see Failures).
func (h *Held) Park(d time.Duration, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !h.giveUp(ctx) {
		return
	}
	if _, err := h.table.TryAcquire(ctx, h.key, parkedPrefix+strconv.Itoa(n), d); err != nil {
		h.log.Warn("pausing before a retry", "lease", h.key, "error", err)
	}
}

// parkedPrefix marks a lease held by nobody during a retry pause.
const parkedPrefix = "retry-pause#"

// Failures reads, from a parked lease's holder, how many times in a row work on it failed.
func Failures(holder string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(holder, parkedPrefix))
	if err != nil || !strings.HasPrefix(holder, parkedPrefix) {
		return 0
	}
	return n
}

func (h *Held) renew(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.ttl / 3)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ok, err := h.table.TryAcquire(ctx, h.key, h.holder, h.ttl)
		switch {
		case err == nil && ok:
			renewed = time.Now()
		case err == nil:
			h.log.Error("a lease went to another holder; stopping the work", "lease", h.key)
			h.cancel(ErrLost)
			return
		case time.Since(renewed) >= h.ttl:
			h.log.Error("could not renew a lease before it expired; stopping the work", "lease", h.key, "error", err)
			h.cancel(ErrLost)
			return
		default:
			h.log.Warn("renewing a lease failed; retrying", "lease", h.key, "error", err)
		}
	}
}

// Free reports whether nobody holds key now (it may have expired): a sweep hands such a subject to
// a new worker when it has work pending.
func Free(ctx context.Context, t Table, key string) (bool, error) {
	_, live, err := t.LeaseHolder(ctx, key)
	if err != nil {
		return false, err
	}
	return !live, nil
}

// Kicks remembers when each subject was last handed to a job, so that a sweep does not queue it
// again while that job still waits behind others. It lives in memory only: after a restart every
// subject is due, which is what a restart needs. The zero value is ready to use.
type Kicks struct {
	// Every is how long after a kick the same subject is due again. Default 30s.
	Every time.Duration

	mu   sync.Mutex
	last map[string]time.Time
}

// Due reports whether key may be kicked now, and if so records the kick.
func (k *Kicks) Due(key string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	every := k.Every
	if every <= 0 {
		every = 30 * time.Second
	}
	if k.last == nil {
		k.last = map[string]time.Time{}
	}
	if t, ok := k.last[key]; ok && now.Sub(t) < every && now.After(t) {
		return false
	}
	k.last[key] = now
	for key, t := range k.last {
		if now.Sub(t) > 10*every {
			delete(k.last, key)
		}
	}
	return true
}
