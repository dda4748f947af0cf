// Package enginetest holds in-memory implementations of the engine's store interfaces and helpers that
// give tests a real Runner: the pinned Pulumi CLI, a file backend, passphrase secrets and a private
// PULUMI_HOME in the test's temporary directory.
package enginetest

import (
	"context"
	"sync"
	"time"
)

// LeaseEvent is one call to Leases, as History reports it.
type LeaseEvent struct {
	// Key and Holder are the call's arguments.
	Key, Holder string
	// Action is "acquire", "renew", "refuse" (TryAcquire answered false) or "release".
	Action string
}

// Leases is an in-memory engine.Leases shared by the Runners of one test, as the store is shared by
// replicas. Its clock is Now (default time.Now). The zero value is not usable; call NewLeases.
type Leases struct {
	// OnEvent, when set before use, is called after every call, outside the lock.
	OnEvent func(LeaseEvent)

	mu      sync.Mutex
	now     func() time.Time
	held    map[string]lease
	history []LeaseEvent
}

type lease struct {
	holder string
	until  time.Time
}

// NewLeases returns an empty lease table using now as its clock (nil means time.Now).
func NewLeases(now func() time.Time) *Leases {
	if now == nil {
		now = time.Now
	}
	return &Leases{now: now, held: map[string]lease{}}
}

// TryAcquire takes key for holder until now+ttl when it is free, expired or already holder's.
func (l *Leases) TryAcquire(_ context.Context, key, holder string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	now := l.now()
	cur, ok := l.held[key]
	ev := LeaseEvent{Key: key, Holder: holder, Action: "acquire"}
	switch {
	case ok && cur.holder == holder && now.Before(cur.until):
		ev.Action = "renew"
	case ok && now.Before(cur.until):
		ev.Action = "refuse"
	}
	if ev.Action != "refuse" {
		l.held[key] = lease{holder: holder, until: now.Add(ttl)}
	}
	l.history = append(l.history, ev)
	l.mu.Unlock()
	l.emit(ev)
	return ev.Action != "refuse", nil
}

// Release gives key up if holder has it.
func (l *Leases) Release(_ context.Context, key, holder string) error {
	l.mu.Lock()
	if cur, ok := l.held[key]; ok && cur.holder == holder {
		delete(l.held, key)
	}
	ev := LeaseEvent{Key: key, Holder: holder, Action: "release"}
	l.history = append(l.history, ev)
	l.mu.Unlock()
	l.emit(ev)
	return nil
}

// Grant makes holder the owner of key until until, as if another replica had taken it.
func (l *Leases) Grant(key, holder string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held[key] = lease{holder: holder, until: until}
}

// Expire ends key's lease now, as if its holder had crashed TTL ago.
func (l *Leases) Expire(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.held[key]; ok {
		cur.until = l.now().Add(-time.Nanosecond)
		l.held[key] = cur
	}
}

// Holder returns the current, unexpired holder of key.
func (l *Leases) Holder(key string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.held[key]
	if !ok || !l.now().Before(cur.until) {
		return "", false
	}
	return cur.holder, true
}

// History returns every call so far, in order.
func (l *Leases) History() []LeaseEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]LeaseEvent(nil), l.history...)
}

func (l *Leases) emit(ev LeaseEvent) {
	if l.OnEvent != nil {
		l.OnEvent(ev)
	}
}
