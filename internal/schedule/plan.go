// Package schedule puts environments to sleep off-hours and wakes them, level-triggered:
// at every tick and at start-up the desired state of each environment is computed from
// its sleep and wake specs (the latest activation at or before now wins) and from any
// override, and only differences are applied. A bot that was down at 20:00 puts dev to
// sleep when it comes back; DST neither skips nor doubles a transition.
//
// Cron specs are read by github.com/robfig/cron/v3, kept because the design names it and its
// spec syntax is what users know, although it has had no release since 2020. It is used only
// through its public API (Parser.Parse, Schedule.Next) and never to run jobs: its runner
// skips and doubles runs at DST changes and does not recover panics. Calendar handles DST on
// top of it: robfig/cron's Next, on a CRON_TZ=UTC copy of the spec, lists the wall-clock
// slots the spec names, and each slot is placed in the schedule's own zone with time.Date,
// once, so a slot in a spring-forward gap still fires (just after the gap) and a repeated
// autumn hour fires once. repoconfig checks every spec's fields in its own words before
// robfig/cron sees them, so its messages (and its panics on some inputs) never reach users.
package schedule

import (
	"fmt"
	"time"

	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

// State is what an environment should be.
type State string

// The two states.
const (
	Awake  State = "awake"
	Asleep State = "asleep"
)

// Plan is one environment's schedule.
type Plan struct {
	// Environment is the environment's name, or repoconfig.EphemeralScheduleKey for PR environments.
	Environment string
	// Sleep and Wake are when the environment goes to sleep and wakes up.
	Sleep, Wake Calendar
	// ConfigKey is the stack config key set to "true" while asleep.
	ConfigKey string
	// Grace keeps a fresh PR environment awake this long after its first deploy.
	Grace time.Duration
	// WakeOnDeploy wakes a sleeping environment when a deploy reaches it (until the next
	// scheduled sleep); otherwise a deploy keeps it asleep.
	WakeOnDeploy bool
	// Production marks a production environment, which never sleeps: its desired state is
	// awake whatever its specs and overrides say. Validation refuses a schedule on one; this
	// holds even when a config reaches the scheduler without it.
	Production bool
}

// NewPlan builds the plan of one schedule from the repository config.
func NewPlan(s repoconfig.Schedule) (Plan, error) {
	sleep, err := NewCalendar(s.Sleep)
	if err != nil {
		return Plan{}, fmt.Errorf("schedule of %s: sleep: %w", s.Environment, err)
	}
	wake, err := NewCalendar(s.Wake)
	if err != nil {
		return Plan{}, fmt.Errorf("schedule of %s: wake: %w", s.Environment, err)
	}
	return Plan{Environment: s.Environment, Sleep: sleep, Wake: wake, ConfigKey: s.ConfigKey, Grace: s.Grace,
		WakeOnDeploy: s.WakeOnDeploy}, nil
}

// Override pins an environment's state until a time, set by `/wake` and `/sleep`.
type Override struct {
	// State is the pinned state.
	State State
	// Until is when the schedule takes over again.
	Until time.Time
	// By is who set it.
	By string
	// At is when it was set.
	At time.Time
}

// Decision is the desired state of an environment at one instant and why.
type Decision struct {
	// State is the desired state.
	State State
	// Reason says why, in words for people.
	Reason string
	// Since is the scheduled transition that set the scheduled state (zero if none yet).
	Since time.Time
	// Override is the override in force, if any.
	Override *Override
}

// Transition is one scheduled change of state.
type Transition struct {
	At    time.Time
	State State
}

// Scheduled is the state the specs alone give at now: the later of the last sleep and the
// last wake at or before now wins; when they coincide, or neither has happened, awake wins.
func (p Plan) Scheduled(now time.Time) (State, time.Time) {
	lastSleep, slept := p.Sleep.Prev(now)
	lastWake, woke := p.Wake.Prev(now)
	switch {
	case slept && (!woke || lastSleep.After(lastWake)):
		return Asleep, lastSleep
	case woke:
		return Awake, lastWake
	}
	return Awake, time.Time{}
}

// Desired is the state the environment should be in at now, given an override (nil for
// none) and, for PR environments, when it was first deployed (zero when unknown).
func (p Plan) Desired(now time.Time, o *Override, firstDeployed time.Time) Decision {
	if p.Production {
		return Decision{State: Awake, Reason: "production never sleeps"}
	}
	if o != nil && now.Before(o.Until) {
		return Decision{State: o.State, Override: o,
			Reason: fmt.Sprintf("%s by %s until %s", o.State, o.By, o.Until.In(p.Sleep.Location()).Format("Mon 15:04 MST"))}
	}
	state, since := p.Scheduled(now)
	d := Decision{State: state, Since: since}
	switch {
	case since.IsZero():
		d.Reason = "no transition yet; awake by default"
	case state == Asleep && p.Grace > 0 && !firstDeployed.IsZero() && now.Before(firstDeployed.Add(p.Grace)):
		d.State = Awake
		d.Reason = fmt.Sprintf("new environment: awake for its first %s", p.Grace)
	default:
		d.Reason = fmt.Sprintf("scheduled %s since %s", state, since.In(p.Sleep.Location()).Format("Mon 15:04 MST"))
	}
	return d
}

// Upcoming lists the next n scheduled transitions after now that change the state.
func (p Plan) Upcoming(now time.Time, n int) []Transition {
	state, _ := p.Scheduled(now)
	return p.upcoming(now, state, n)
}

// Coming lists the next n transitions after now that change the state, with the override o
// (nil for none) in force: while it holds the state is the override's; at its end the
// schedule takes over, which is a transition when the scheduled state differs. Times are in
// the schedule's zone. A production environment never sleeps, so it has none.
func (p Plan) Coming(now time.Time, o *Override, n int) []Transition {
	if p.Production {
		return nil
	}
	if o == nil || !now.Before(o.Until) {
		return p.Upcoming(now, n)
	}
	var out []Transition
	after, _ := p.Scheduled(o.Until)
	if after != o.State && n > 0 {
		out = append(out, Transition{At: o.Until.In(p.Sleep.Location()), State: after})
	}
	return append(out, p.upcoming(o.Until, after, n-len(out))...)
}

// upcoming lists the next n scheduled transitions after t that change state.
func (p Plan) upcoming(t time.Time, state State, n int) []Transition {
	var out []Transition
	for len(out) < n {
		s, okS := p.Sleep.Next(t)
		w, okW := p.Wake.Next(t)
		var next Transition
		switch {
		case okS && (!okW || s.Before(w)):
			next = Transition{At: s, State: Asleep}
		case okW && (!okS || !w.After(s)):
			next = Transition{At: w, State: Awake}
		default:
			return out
		}
		t = next.At
		if next.State != state {
			out = append(out, next)
			state = next.State
		}
	}
	return out
}

// Week is the awake and total time of a typical week, counted on the wall clock of the
// schedule's standard offset so DST weeks do not skew it: a dev environment awake
// 07:00–20:00 on weekdays is awake 65 of 168 hours.
type Week struct {
	Awake, Total time.Duration
}

// Saved is the fraction of the week the environment sleeps, against always on.
func (w Week) Saved() float64 {
	if w.Total == 0 {
		return 0
	}
	return 1 - w.Awake.Hours()/w.Total.Hours()
}

// TypicalWeek measures a week from Monday 00:00 on the standard offset of the plan's zone.
func (p Plan) TypicalWeek() Week {
	if p.Production {
		return Week{Awake: 7 * 24 * time.Hour, Total: 7 * 24 * time.Hour}
	}
	_, offset := time.Date(2026, time.January, 5, 0, 0, 0, 0, p.Sleep.Location()).Zone()
	fixed := time.FixedZone("standard", offset)
	q := Plan{Sleep: p.Sleep.In(fixed), Wake: p.Wake.In(fixed)}
	start := time.Date(2026, time.January, 5, 0, 0, 0, 0, fixed) // a Monday
	end := start.Add(7 * 24 * time.Hour)
	state, _ := q.Scheduled(start)
	var awake time.Duration
	t := start
	for t.Before(end) {
		next := end
		nextState := state
		if ts := q.Upcoming(t, 1); len(ts) > 0 && ts[0].At.Before(end) {
			next, nextState = ts[0].At, ts[0].State
		}
		if state == Awake {
			awake += next.Sub(t)
		}
		t, state = next, nextState
	}
	return Week{Awake: awake, Total: end.Sub(start)}
}
