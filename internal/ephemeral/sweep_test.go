package ephemeral

import (
	"slices"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/store"
)

func TestSweepActions(t *testing.T) {
	t.Parallel()
	ec := defaults(t)
	ec.TTLWarning = 24 * time.Hour
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	live := store.PREnvironment{Want: store.WantDeploy, Slot: 2, Status: store.PRReady, HeadSHA: "h", ExpiresAt: now.Add(48 * time.Hour)}
	with := func(fn func(*store.PREnvironment)) store.PREnvironment { return changed(live, fn) }
	for _, tc := range []struct {
		name   string
		env    store.PREnvironment
		head   string
		labels []string
		want   []sweepAction
	}{
		{"a live environment far from expiry is left alone", live, "h", nil, nil},
		{"a push without a webhook is caught up", live, "new", nil, []sweepAction{sweepCatchUp}},
		{"catching up goes before expiring", with(func(e *store.PREnvironment) { e.ExpiresAt = now }), "new", nil, []sweepAction{sweepCatchUp}},
		{"a PR whose head GitHub did not report is not caught up", live, "", nil, nil},
		{"an environment being destroyed does not catch up", with(func(e *store.PREnvironment) { e.Want = store.WantDestroy }), "new", nil, nil},
		{"expired at the very instant", with(func(e *store.PREnvironment) { e.ExpiresAt = now }), "h", nil, []sweepAction{sweepExpire}},
		{"expired long ago", with(func(e *store.PREnvironment) { e.ExpiresAt = now.Add(-time.Hour) }), "h", nil, []sweepAction{sweepExpire}},
		{"the keep label stops expiry and is recorded", with(func(e *store.PREnvironment) { e.ExpiresAt = now.Add(-time.Hour) }), "h", []string{"stagecoach:keep"}, []sweepAction{sweepKeep}},
		{"a keep label spelled in another case keeps it too, as the webhook's label check does", with(func(e *store.PREnvironment) {
			e.ExpiresAt, e.Keep = now.Add(-time.Hour), true
		}), "h", []string{"bug", "Stagecoach:Keep"}, nil},
		{"the keep label recorded already", with(func(e *store.PREnvironment) { e.ExpiresAt, e.Keep = now.Add(-time.Hour), true }), "h", []string{"stagecoach:keep"}, nil},
		{"an environment without an expiry never expires", with(func(e *store.PREnvironment) { e.ExpiresAt = time.Time{} }), "h", nil, nil},
		{"a queued PR without a slot does not expire; it looks for a slot", with(func(e *store.PREnvironment) {
			e.Slot, e.Status, e.ExpiresAt = -1, store.PRQueued, now.Add(-time.Hour)
		}), "h", nil, []sweepAction{sweepKick}},
		{"a queued PR whose keep label went looks for a slot too", with(func(e *store.PREnvironment) {
			e.Slot, e.Status, e.Keep = -1, store.PRQueued, true
		}), "h", nil, []sweepAction{sweepKeep, sweepKick}},
		{"the warning is due when the warning period begins", with(func(e *store.PREnvironment) { e.ExpiresAt = now.Add(24 * time.Hour) }), "h", nil, []sweepAction{sweepWarn}},
		{"the warning is not due a minute earlier", with(func(e *store.PREnvironment) { e.ExpiresAt = now.Add(24*time.Hour + time.Minute) }), "h", nil, nil},
		{"a warned environment is warned once", with(func(e *store.PREnvironment) { e.ExpiresAt, e.Warned = now.Add(time.Hour), true }), "h", nil, nil},
		{"a warned environment still expires", with(func(e *store.PREnvironment) { e.ExpiresAt, e.Warned = now, true }), "h", nil, []sweepAction{sweepExpire}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pr := prFacts{Open: true, HeadSHA: tc.head, Labels: tc.labels}
			if got := sweepActions(ec, tc.env, pr, now); !slices.Equal(got, tc.want) {
				t.Fatalf("sweepActions = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("no warning without a warning period", func(t *testing.T) {
		t.Parallel()
		ec := ec
		ec.TTLWarning = 0
		if got := sweepActions(ec, with(func(e *store.PREnvironment) { e.ExpiresAt = now.Add(time.Minute) }), prFacts{Open: true, HeadSHA: "h"}, now); got != nil {
			t.Fatalf("sweepActions = %v, want none", got)
		}
	})
}

func TestExpiryWarning(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	got := expiryWarning(store.PREnvironment{Stack: "pr-7", ExpiresAt: now.Add(26*time.Hour + 10*time.Minute)}, "stagecoach:keep", now)
	want := "⏰ The environment `pr-7` expires in 1d 2h. Comment `/extend 24h` or add the label `stagecoach:keep` to keep it."
	if got != want {
		t.Fatalf("expiryWarning:\n%s\nwant:\n%s", got, want)
	}
}
