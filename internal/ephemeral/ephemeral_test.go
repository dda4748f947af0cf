package ephemeral

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/render"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/store"
	"github.com/stagecoach/stagecoach/internal/testenv/golden"
)

func defaults(t *testing.T) repoconfig.Ephemeral {
	t.Helper()
	cfg, err := repoconfig.Parse(".stagecoach.yaml", []byte("ephemeral:\n  enabled: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Ephemeral
}

func TestEligible(t *testing.T) {
	t.Parallel()
	ec := defaults(t)
	open := prFacts{Open: true, HeadSHA: "b"}
	for _, c := range []struct {
		name string
		f    prFacts
		e    store.PREnvironment
		want bool
	}{
		{"an open PR deploys", open, store.PREnvironment{}, true},
		{"a draft waits", prFacts{Open: true, Draft: true}, store.PREnvironment{}, false},
		{"the opt-out label skips", prFacts{Open: true, Labels: []string{"stagecoach:skip"}}, store.PREnvironment{}, false},
		{"a fork waits for approval", prFacts{Open: true, Fork: true, HeadSHA: "b"}, store.PREnvironment{Fork: true, ApprovedSHA: "a"}, false},
		{"an approved fork head deploys", prFacts{Open: true, Fork: true, HeadSHA: "b"}, store.PREnvironment{Fork: true, ApprovedSHA: "b"}, true},
		{"a /destroy pauses", open, store.PREnvironment{Paused: true}, false},
		{"a closed PR never deploys", prFacts{}, store.PREnvironment{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := eligible(ec, c.f, c.e); got != c.want {
				t.Fatalf("eligible = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCommentBody(t *testing.T) {
	t.Parallel()
	ec := defaults(t)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	env := store.PREnvironment{Repo: "o/r", PR: 7, Stack: "pr-7", Slot: 3, Status: store.PRReady, Want: store.WantDeploy,
		DeployedSHA: "0123456789abcdef", EnvURL: "https://pr-7.example.com", Summary: "Update: 1 created",
		ExpiresAt: now.Add(72 * time.Hour)}
	res := engine.Result{Kind: engine.KindUp, Stack: "acme/shop/pr-7", Counts: map[engine.Op]int{engine.OpCreate: 1}, Succeeded: true,
		Changes: []engine.ResourceChange{{Type: "pulumi:pulumi:Stack", Name: "shop-pr-7", Op: engine.OpCreate}},
		Outputs: map[string]engine.Output{"url": {Value: "https://pr-7.example.com"}}, Duration: 2 * time.Second}

	t.Run("a ready environment shows its URL, expiry, result and commands", func(t *testing.T) {
		t.Parallel()
		golden.Assert(t, filepath.Join("testdata", "ready.md"), commentBody(ec, env, &res, now, ""))
	})
	t.Run("a huge result still fits GitHub's limit", func(t *testing.T) {
		t.Parallel()
		big := res
		big.Changes = nil
		for i := range 5000 {
			big.Changes = append(big.Changes, engine.ResourceChange{Type: "aws:s3/bucket:Bucket", Name: strings.Repeat("b", 40) + string(rune('a'+i%26)), Op: engine.OpCreate})
		}
		e := env
		e.LastError = strings.Repeat("x", 5000)
		if n := len(commentBody(ec, e, &big, now, "")); n > render.CommentLimit {
			t.Fatalf("%d bytes, over %d", n, render.CommentLimit)
		}
	})
	t.Run("a fork's new commit is shown waiting for approval", func(t *testing.T) {
		t.Parallel()
		e := env
		e.Fork, e.ApprovedSHA, e.HeadSHA = true, "0123456789abcdef", "fedcba9876543210"
		golden.Assert(t, filepath.Join("testdata", "fork.md"), commentBody(ec, e, nil, now, ""))
	})
}

func TestExpiryNote(t *testing.T) {
	t.Parallel()
	ec := defaults(t)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	expires := now.Add(50 * time.Hour)
	const expiresLine = "Slot 1. Expires 2026-11-29 11:00 UTC (in 2d 2h) unless there is a push or `/extend`.\n\n"
	pooled := ec
	pooled.SlotPool = "aws-dev-account"
	for _, tc := range []struct {
		name string
		env  store.PREnvironment
		want string
	}{
		{"an environment with an expiry", store.PREnvironment{Slot: 1, Status: store.PRReady, ExpiresAt: expires}, expiresLine},
		{"a warned environment says so loudly", store.PREnvironment{Slot: 1, Status: store.PRReady, ExpiresAt: expires, Warned: true},
			expiresLine + "> [!IMPORTANT]\n> This environment expires soon. Comment `/extend 24h` or add the label `stagecoach:keep` to keep it.\n\n"},
		{"a kept environment names its label, not its expiry", store.PREnvironment{Slot: 1, Status: store.PRReady, ExpiresAt: expires, Keep: true, Warned: true},
			"Slot 1. Kept: the label `stagecoach:keep` exempts it from expiry.\n\n"},
		{"an environment without an expiry yet names its slot", store.PREnvironment{Slot: 1, Status: store.PRDeploying}, "Slot 1.\n\n"},
		{"an environment being destroyed", store.PREnvironment{Slot: 1, Status: store.PRDestroying, ExpiresAt: expires, Keep: true}, ""},
		{"a PR without a slot", store.PREnvironment{Slot: -1, Status: store.PRQueued, ExpiresAt: expires, Keep: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := expiryNote(ec, tc.env, now); got != tc.want {
				t.Fatalf("expiryNote:\n%q\nwant:\n%q", got, tc.want)
			}
			if tc.want == "" {
				return
			}
			want := strings.Replace(tc.want, "Slot 1", "Slot 1 of the shared pool `aws-dev-account`", 1)
			if got := expiryNote(pooled, tc.env, now); got != want {
				t.Fatalf("expiryNote with a shared pool:\n%q\nwant:\n%q", got, want)
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
