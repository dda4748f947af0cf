package promotion_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/promotion"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

const gateConfig = `environments:
  - name: dev
  - name: staging
    soak: 1h
  - name: prod
    promoters:
      permission: maintain
      users: [mia]
      teams: [acme/sre]
    soak: 1d
    approvals:
      required: 2
      approvers:
        teams: [acme/sre]
        users: [carol]
    freeze:
      - reason: weekend, nobody on call
        cron: "CRON_TZ=Europe/Berlin 0 18 * * FRI"
        duration: 62h
      - reason: end-of-year freeze
        start: 2026-12-20T00:00:00+01:00
        end: 2027-01-05T09:00:00+01:00
  - name: edge
    allow_skip: true
`

const sha, other = "aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"

func config(t *testing.T) *repoconfig.Config {
	t.Helper()
	cfg, err := repoconfig.Parse(".stagecoach.yaml", []byte(gateConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// wednesday is a Wednesday noon in Berlin, outside every freeze window.
var wednesday = time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)

func sre(login string) promotion.Person {
	return promotion.Person{Login: login, Permission: "maintain", Teams: []string{"acme/sre"}}
}

// passing returns facts under which a promotion to prod passes every gate.
func passing(t *testing.T) promotion.Facts {
	return promotion.Facts{
		Config: config(t), Env: "prod", SHA: sha, Now: wednesday,
		Requester: promotion.Person{Login: "mia", Permission: "maintain"},
		Succeeded: map[string]time.Time{"dev": wednesday.Add(-72 * time.Hour), "staging": wednesday.Add(-48 * time.Hour)},
		Approvals: []promotion.Approval{{Approver: sre("sam"), SHA: sha}, {Approver: promotion.Person{Login: "carol", Permission: "write"}, SHA: sha}},
	}
}

func only(t *testing.T, f promotion.Facts, gate promotion.Gate, want ...string) {
	t.Helper()
	got := promotion.Check(f)
	if len(got) != 1 || got[0].Gate != gate {
		t.Fatalf("refusals = %+v, want one of gate %s", got, gate)
	}
	for _, w := range want {
		if !strings.Contains(got[0].Message, w) {
			t.Errorf("refusal %q does not say %q", got[0].Message, w)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	t.Run("a promotion meeting every rule passes", func(t *testing.T) {
		t.Parallel()
		if got := promotion.Check(passing(t)); len(got) != 0 {
			t.Fatalf("refusals: %+v", got)
		}
	})
	t.Run("an unknown environment is refused with the list", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Env = "qa"
		only(t, f, promotion.GatePermission, "`qa` is not an environment", "`dev`, `staging`, `prod`")
	})
	t.Run("too little permission is refused with what is needed", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Requester.Permission = "write"
		only(t, f, promotion.GatePermission, "needs maintain access", "@mia has write")
	})
	t.Run("a maintainer outside the listed users and teams is refused", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Requester = promotion.Person{Login: "zoe", Permission: "admin"}
		only(t, f, promotion.GatePermission, "limited to @mia, team @acme/sre")
	})
	t.Run("a member of a listed team may promote", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Requester = sre("zoe")
		f.Approvals = append(f.Approvals, promotion.Approval{Approver: sre("mia"), SHA: sha})
		if got := promotion.Check(f); len(got) != 0 {
			t.Fatalf("refusals: %+v", got)
		}
	})
	t.Run("merges and labels skip the permission gate", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Requester, f.SkipPermission = promotion.Person{Login: "web-flow"}, true
		if got := promotion.Check(f); len(got) != 0 {
			t.Fatalf("refusals: %+v", got)
		}
	})
	t.Run("a commit not yet in the previous stage is refused", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		delete(f.Succeeded, "staging")
		only(t, f, promotion.GatePrevious, "not been deployed successfully to `staging`", "/promote staging aaaaaaa")
	})
	t.Run("an environment allowing skips accepts any earlier stage", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Env, f.Succeeded = "edge", map[string]time.Time{"dev": wednesday.Add(-time.Hour)}
		if got := promotion.Check(f); len(got) != 0 {
			t.Fatalf("refusals: %+v", got)
		}
		f.Succeeded = nil
		only(t, f, promotion.GatePrevious, "any environment before `edge`")
	})
	t.Run("the first environment needs no previous stage", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Env, f.Succeeded, f.Approvals = "dev", nil, nil
		if got := promotion.Check(f); len(got) != 0 {
			t.Fatalf("refusals: %+v", got)
		}
	})
	t.Run("a commit still soaking is refused with the time left", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Succeeded["staging"] = wednesday.Add(-20 * time.Hour)
		only(t, f, promotion.GateSoak, "soaked in `staging` for 20h of the required 1d", "4h remain", "2026-11-25T15:00:00Z")
		f.Succeeded["staging"] = wednesday.Add(-24 * time.Hour)
		if got := promotion.Check(f); len(got) != 0 {
			t.Fatalf("soak over: refusals %+v", got)
		}
	})
	t.Run("a rollback skips the soak but not the previous stage", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Succeeded["staging"], f.Rollback = wednesday.Add(-time.Minute), true
		if got := promotion.Check(f); len(got) != 0 {
			t.Fatalf("refusals: %+v", got)
		}
		delete(f.Succeeded, "staging")
		only(t, f, promotion.GatePrevious, "not been deployed successfully to `staging`")
	})
	t.Run("a recurring freeze refuses with its reason and end in its own zone", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		// Friday 27 Nov 2026 19:00 in Berlin (CET, UTC+1) is inside the weekend window that
		// opens at 18:00 and lasts until Monday 08:00 Berlin time.
		f.Now = time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
		only(t, f, promotion.GateFreeze, "weekend, nobody on call", "until Mon 30 Nov 2026 08:00 CET", "2d 13h from now")
		// The same instant seen from New York is still frozen: zones do not change the rule.
		ny, _ := time.LoadLocation("America/New_York")
		f.Now = f.Now.In(ny)
		only(t, f, promotion.GateFreeze, "until Mon 30 Nov 2026 08:00 CET")
	})
	t.Run("a freeze is over at its end and not open before its start", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Now = time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC) // 08:00 Berlin, Monday
		if got := promotion.Check(f); len(got) != 0 {
			t.Fatalf("at the end: %+v", got)
		}
		f.Now = time.Date(2026, 11, 27, 16, 59, 0, 0, time.UTC) // 17:59 Berlin, Friday
		if got := promotion.Check(f); len(got) != 0 {
			t.Fatalf("before the start: %+v", got)
		}
	})
	t.Run("a one-off freeze refuses until its end", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Now = time.Date(2026, 12, 30, 12, 0, 0, 0, time.UTC)
		only(t, f, promotion.GateFreeze, "end-of-year freeze", "until Tue 5 Jan 2027 09:00")
	})
	t.Run("approvals missing are refused with who may give them", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Approvals = f.Approvals[:1]
		only(t, f, promotion.GateApprovals, "needs 2 approval(s)", "has 1 (from @sam)", "1 more from @carol, team @acme/sre", "/approve prod aaaaaaa")
	})
	t.Run("the requester's own approval does not count", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Requester = sre("sam")
		only(t, f, promotion.GateApprovals, "has 1 (from @carol)")
	})
	t.Run("an approval of another commit does not count", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Approvals[1].SHA = other
		only(t, f, promotion.GateApprovals, "has 1 (from @sam)")
	})
	t.Run("one approver approving twice counts once", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Approvals[1] = f.Approvals[0]
		only(t, f, promotion.GateApprovals, "has 1 (from @sam)")
	})
	t.Run("approvers outside the teams or without permission do not count", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Approvals = []promotion.Approval{
			{Approver: promotion.Person{Login: "zoe", Permission: "admin"}, SHA: sha},
			{Approver: promotion.Person{Login: "carol", Permission: "read"}, SHA: sha},
		}
		only(t, f, promotion.GateApprovals, "has 0 (none yet)")
	})
	t.Run("every failing gate is reported at once, in order", func(t *testing.T) {
		t.Parallel()
		f := passing(t)
		f.Requester.Permission = "write"
		delete(f.Succeeded, "staging")
		f.Approvals = nil
		f.Now = time.Date(2026, 12, 30, 12, 0, 0, 0, time.UTC)
		var gates []promotion.Gate
		for _, r := range promotion.Check(f) {
			gates = append(gates, r.Gate)
		}
		want := []promotion.Gate{promotion.GatePermission, promotion.GatePrevious, promotion.GateFreeze, promotion.GateApprovals}
		if strings.Join(toStrings(gates), ",") != strings.Join(toStrings(want), ",") {
			t.Fatalf("gates = %v, want %v", gates, want)
		}
	})
}

func toStrings(gs []promotion.Gate) []string {
	var out []string
	for _, g := range gs {
		out = append(out, string(g))
	}
	return out
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		42 * time.Second: "42s", 90 * time.Minute: "1h 30m", 26 * time.Hour: "1d 2h", 72 * time.Hour: "3d",
	} {
		if got := promotion.Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
