package ephemeral

import (
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/store"
)

func TestExpiryNote(t *testing.T) {
	t.Parallel()
	ec := defaults(t)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	expires := now.Add(50 * time.Hour)
	const expiresLine = "Expires 2026-11-29 11:00 UTC (in 2d 2h) unless there is a push or `/extend`.\n\n"
	for _, tc := range []struct {
		name string
		env  store.PREnvironment
		want string
	}{
		{"an environment with an expiry", store.PREnvironment{Slot: 1, Status: store.PRReady, ExpiresAt: expires}, expiresLine},
		{"a warned environment says so loudly", store.PREnvironment{Slot: 1, Status: store.PRReady, ExpiresAt: expires, Warned: true},
			expiresLine + "> [!IMPORTANT]\n> This environment expires soon. Comment `/extend 24h` or add the label `stagecoach:keep` to keep it.\n\n"},
		{"a kept environment names its label, not its expiry", store.PREnvironment{Slot: 1, Status: store.PRReady, ExpiresAt: expires, Keep: true, Warned: true},
			"Kept: the label `stagecoach:keep` exempts it from expiry.\n\n"},
		{"an environment without an expiry yet", store.PREnvironment{Slot: 1, Status: store.PRDeploying}, ""},
		{"an environment being destroyed", store.PREnvironment{Slot: 1, Status: store.PRDestroying, ExpiresAt: expires, Keep: true}, ""},
		{"a PR without a slot", store.PREnvironment{Slot: -1, Status: store.PRQueued, ExpiresAt: expires, Keep: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := expiryNote(ec, tc.env, now); got != tc.want {
				t.Fatalf("expiryNote:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}

func TestForkNote(t *testing.T) {
	t.Parallel()
	const rule = "This pull request comes from a fork: its code would run with the bot's cloud credentials, so it is never deployed on its own. " +
		"Someone with write access approves exactly one commit by commenting `/deploy`; every new push needs a new `/deploy`."
	for _, tc := range []struct {
		name string
		env  store.PREnvironment
		want string
	}{
		{"a PR from the repository itself", store.PREnvironment{HeadSHA: "fedcba9876543210"}, ""},
		{"a fork whose head is approved", store.PREnvironment{Fork: true, HeadSHA: "0123456789abcdef", ApprovedSHA: "0123456789abcdef"}, rule + "\n\n"},
		{"a fork whose head waits", store.PREnvironment{Fork: true, HeadSHA: "fedcba9876543210", ApprovedSHA: "0123456789abcdef"},
			rule + " **Commit fedcba9 is waiting for approval.**\n\n"},
		{"a fork whose environment is destroyed", store.PREnvironment{Fork: true, HeadSHA: "fedcba9876543210", Status: store.PRDestroyed}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := forkNote(tc.env); got != tc.want {
				t.Fatalf("forkNote:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}
