package crashtest

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// The tests of this package do not run in parallel with each other: they measure recovery times
// on a small machine, and each one already runs several bots and Pulumi processes at once.

// action is what a trial does to one PR.
type action int

const (
	actOpen       action = iota // open a new PR
	actPush                     // push to a ready PR
	actCommand                  // comment an unknown command and push
	actClose                    // close (or merge) a ready PR
	actReopen                   // reopen a closed PR
	actMissedPush               // push while the bot is down, and never redeliver the webhooks
)

var actionNames = map[action]string{actOpen: "open", actPush: "push", actCommand: "command+push",
	actClose: "close", actReopen: "reopen", actMissedPush: "push while down, not redelivered"}

// TestCrashSQLite kills the one bot on SQLite at random moments of PR deploys, updates, commands and
// teardowns, restarts it on the same data, and requires every PR environment to reach its wanted
// state within 60 s of the restart with nothing done twice and no stack left locked.
func TestCrashSQLite(t *testing.T) {
	s := seed(t)
	t.Logf("seed %d (replay with STAGECOACH_CRASH_SEED=%d)", s, s)
	trials := 20
	if v := os.Getenv("STAGECOACH_CRASH_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("STAGECOACH_CRASH_TRIALS=%q: want a positive number", v)
		}
		trials = n
	}
	w := newWorld(t, s)
	bot := w.addReplica("sqlite", "")
	w.up(bot)

	// Four PRs at a time: each round acts on all four, kills the bot once and counts four trials.
	const slots = 4
	var prs []*pull
	heads := map[int][]string{}
	slot := make([]*pull, slots)
	fig := &figures{name: "sqlite"}
	missed := false
	for round := 0; fig.trials < trials; round++ {
		n := min(slots, trials-fig.trials)
		acts := make([]action, n)
		for i := range n {
			p := slot[i]
			switch {
			case p == nil || p.abandoned || p.merged:
				acts[i] = actOpen
			case !p.wantReady:
				acts[i] = []action{actOpen, actReopen}[w.rng.IntN(2)]
			case !missed && round > 0:
				acts[i], missed = actMissedPush, true
			default:
				acts[i] = []action{actPush, actPush, actCommand, actClose, actClose, actMissedPush}[w.rng.IntN(6)]
			}
		}
		// Act, wait a random moment, kill.
		for i, a := range acts {
			switch a {
			case actOpen:
				slot[i] = w.open()
				prs = append(prs, slot[i])
			case actPush:
				w.push(slot[i])
			case actCommand:
				w.command(slot[i])
				w.push(slot[i])
			case actClose:
				w.close(slot[i])
			case actReopen:
				w.reopen(slot[i])
			}
		}
		delay := time.Duration(w.rng.IntN(3001)) * time.Millisecond
		time.Sleep(delay) // the randomized kill moment: the point of the test
		busy := bot.busy()
		w.down(bot)
		for i, a := range acts {
			if a == actMissedPush {
				before := len(w.sim.Deliveries())
				w.push(slot[i])
				for _, d := range w.sim.Deliveries()[before:] {
					w.skip[d.ID] = true
				}
			}
		}
		var desc []string
		for i, a := range acts {
			desc = append(desc, "#"+strconv.Itoa(slot[i].number)+" "+actionNames[a])
			heads[slot[i].number] = append(heads[slot[i].number], slot[i].head)
		}
		t.Logf("round %d: %v; killed after %s (Pulumi running: %v)", round, desc, delay, busy)

		restarted := time.Now()
		w.up(bot)
		redelivered := w.redeliver()
		took, why := w.waitConverged(slot[:n], restarted, measureWithin)
		for i := range n {
			fig.add(took[i])
			p := slot[i]
			f := w.look(p)
			if len(f.locks) > 0 {
				fig.locked++
			}
			if took[i] < 0 {
				p.abandoned = true
				t.Errorf("round %d: PR #%d (%s) did not recover within %s of the restart (seed %d)", round, p.number, actionNames[acts[i]], measureWithin, s)
				w.dump(p, why[i])
				continue
			}
			if took[i] > recoverWithin {
				t.Errorf("round %d: PR #%d (%s) recovered only %s after the restart, want within %s (seed %d)", round, p.number, actionNames[acts[i]], took[i].Round(100*time.Millisecond), recoverWithin, s)
				continue
			}
			t.Logf("round %d: PR #%d recovered %s after the restart", round, p.number, took[i].Round(100*time.Millisecond))
		}
		t.Logf("round %d: %d failed deliveries redelivered", round, redelivered)
	}
	w.finalCheck(fig, prs, heads)
	w.report(fig, s)
}
