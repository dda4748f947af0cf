package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

// Calendar evaluates a cron spec on the wall clock of its time zone. Unlike robfig/cron's
// Next, which skips a time that falls into a spring-forward gap and can fire twice in a
// repeated autumn hour, every wall-clock slot the spec names maps to exactly one instant:
// a slot inside a gap fires at the instant Go's time.Date gives it (just after the gap),
// and a repeated hour fires once. So DST neither skips nor doubles a transition.
//
// The slots come from robfig/cron's public API alone: the spec's fields are parsed as a
// CRON_TZ=UTC schedule, and its Next, stepping through UTC (which has no DST), walks the
// wall clock minute by minute as the spec names it; each slot is then placed in the zone.
type Calendar struct {
	wall cron.Schedule
	loc  *time.Location
	text string
}

// NewCalendar wraps a parsed repository cron spec.
func NewCalendar(c repoconfig.Cron) (Calendar, error) {
	if c.Location == nil || c.Fields == "" {
		return Calendar{}, fmt.Errorf("cron spec %q: not a calendar spec with a time zone", c.Spec)
	}
	wall, err := cron.ParseStandard("CRON_TZ=UTC " + c.Fields)
	if err != nil {
		return Calendar{}, fmt.Errorf("cron spec %q: %w", c.Spec, err)
	}
	return Calendar{wall: wall, loc: c.Location, text: c.Spec}, nil
}

// In returns the calendar evaluated on the wall clock of loc instead (used with a fixed
// offset to count a typical week's hours without DST).
func (c Calendar) In(loc *time.Location) Calendar { c.loc = loc; return c }

// Location is the time zone the spec is evaluated in.
func (c Calendar) Location() *time.Location { return c.loc }

// String returns the spec as written.
func (c Calendar) String() string { return c.text }

// Between returns the activations in [from, to), in order.
func (c Calendar) Between(from, to time.Time) []time.Time {
	var out []time.Time
	// Walk the wall clock from the local day before from to the day after to: a day of
	// margin on each side for zone offsets.
	fl, tl := from.In(c.loc), to.In(c.loc)
	slot := time.Date(fl.Year(), fl.Month(), fl.Day()-1, 0, 0, 0, 0, time.UTC).Add(-time.Minute)
	last := time.Date(tl.Year(), tl.Month(), tl.Day()+2, 0, 0, 0, 0, time.UTC)
	for {
		slot = c.wall.Next(slot)
		if slot.IsZero() || slot.After(last) {
			return out
		}
		t := time.Date(slot.Year(), slot.Month(), slot.Day(), slot.Hour(), slot.Minute(), 0, 0, c.loc)
		if !t.Before(from) && t.Before(to) && (len(out) == 0 || t.After(out[len(out)-1])) {
			out = append(out, t)
		}
	}
}

// Prev returns the latest activation at or before t, and false when there is none in the
// preceding four years.
func (c Calendar) Prev(t time.Time) (time.Time, bool) {
	for _, back := range []time.Duration{8 * 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 4 * 366 * 24 * time.Hour} {
		if ts := c.Between(t.Add(-back), t.Add(time.Nanosecond)); len(ts) > 0 {
			return ts[len(ts)-1], true
		}
	}
	return time.Time{}, false
}

// Next returns the first activation strictly after t, and false when there is none in the
// following four years.
func (c Calendar) Next(t time.Time) (time.Time, bool) {
	for _, ahead := range []time.Duration{8 * 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 4 * 366 * 24 * time.Hour} {
		if ts := c.Between(t.Add(time.Nanosecond), t.Add(ahead)); len(ts) > 0 {
			return ts[0], true
		}
	}
	return time.Time{}, false
}
