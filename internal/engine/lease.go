package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Leases are named, expiring locks shared by every replica (the store implements them). An operation
// holds its stack's lease from before Pulumi starts until after it exits, renewing it as it runs.
type Leases interface {
	// TryAcquire takes the lease `key` for `holder` until now+ttl when it is free, expired, or already
	// held by holder. Reports whether holder now has it.
	TryAcquire(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)
	// Release gives the lease up if holder has it; no error when it does not.
	Release(ctx context.Context, key, holder string) error
}

// firstLeaseWait is the first pause between attempts to take a busy lease; pauses double up to
// Config.LeasePoll.
const firstLeaseWait = 50 * time.Millisecond

// releaseTimeout bounds giving a lease back after the operation's own context has ended.
const releaseTimeout = 30 * time.Second

// leaseKey names the lease of one stack on the configured backend.
func (r *Runner) leaseKey(stack string) string {
	return "pulumi-stack:" + r.cfg.backendKey() + "#" + stack
}

// lock waits until this operation holds the stack's lease, then keeps renewing it. The returned context
// is ctx, additionally cancelled with ErrLeaseLost when the lease cannot be renewed. unlock stops renewal
// and releases the lease; it must be called once the operation is over, whatever happened.
func (r *Runner) lock(ctx context.Context, key string, log *slog.Logger) (context.Context, func(), error) {
	holder := fmt.Sprintf("%s/%d", r.id, r.seq.Add(1))
	wait := firstLeaseWait
	for waited := false; ; waited = true {
		ok, err := r.leases.TryAcquire(ctx, key, holder, r.cfg.LeaseTTL)
		if err != nil {
			return nil, nil, fmt.Errorf("taking the stack lease %s: %w", key, err)
		}
		if ok {
			if waited {
				log.Info("took the stack lease after waiting", "lease", key)
			}
			break
		}
		if !waited {
			log.Info("waiting for another operation on the stack to finish", "lease", key)
		}
		released := r.releaseSignal(key)
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for the stack lease %s: %w", key, context.Cause(ctx))
		case <-released:
		case <-r.clock.After(wait):
		}
		wait = min(2*wait, r.cfg.LeasePoll)
	}

	opCtx, cancel := context.WithCancelCause(ctx)
	stop, done := make(chan struct{}), make(chan struct{})
	go r.renew(context.WithoutCancel(ctx), cancel, key, holder, log, stop, done)
	unlock := func() {
		close(stop)
		<-done
		cancel(nil)
		rctx, cancelRelease := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancelRelease()
		if err := r.leases.Release(rctx, key, holder); err != nil {
			// The lease expires by itself after LeaseTTL.
			log.Warn("releasing the stack lease", "lease", key, "err", err)
		}
		r.signalRelease(key)
	}
	return opCtx, unlock, nil
}

// renew extends the lease every third of its TTL until stop closes. When the lease has gone to
// another holder, or could not be renewed for a whole TTL, it cancels the operation with ErrLeaseLost.
// ctx is not the operation's context: a cancelled operation keeps its lease until its CLI has exited.
func (r *Runner) renew(ctx context.Context, cancel context.CancelCauseFunc, key, holder string,
	log *slog.Logger, stop <-chan struct{}, done chan<- struct{},
) {
	defer close(done)
	interval := r.cfg.LeaseTTL / 3
	renewed := r.clock.Now()
	for {
		select {
		case <-stop:
			return
		case <-r.clock.After(interval):
		}
		ok, err := r.leases.TryAcquire(ctx, key, holder, r.cfg.LeaseTTL)
		switch {
		case err == nil && ok:
			renewed = r.clock.Now()
		case err == nil:
			log.Error("the stack lease went to another holder; stopping the operation", "lease", key)
			cancel(ErrLeaseLost)
			return
		case r.clock.Now().Sub(renewed) >= r.cfg.LeaseTTL:
			log.Error("could not renew the stack lease before it expired; stopping the operation", "lease", key, "err", err)
			cancel(ErrLeaseLost)
			return
		default:
			log.Warn("renewing the stack lease failed; retrying", "lease", key, "err", err)
		}
	}
}

// releaseSignal returns a channel closed when an operation of this Runner next releases key, so
// waiters in this process do not have to poll.
func (r *Runner) releaseSignal(key string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch, ok := r.released[key]
	if !ok {
		ch = make(chan struct{})
		r.released[key] = ch
	}
	return ch
}

func (r *Runner) signalRelease(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.released[key]; ok {
		close(ch)
		delete(r.released, key)
	}
}

// slot waits for one of the Runner's MaxConcurrent operation slots; release gives it back.
func (r *Runner) slot(ctx context.Context, log *slog.Logger) (release func(), err error) {
	select {
	case r.slots <- struct{}{}:
		return func() { <-r.slots }, nil
	default:
	}
	log.Info("waiting for an operation slot", "max_concurrent", cap(r.slots))
	select {
	case r.slots <- struct{}{}:
		return func() { <-r.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for an operation slot: %w", context.Cause(ctx))
	}
}
