package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

// starBit marks a day-of-month or day-of-week field written as "*" (robfig/cron's convention).
const starBit = 1 << 63

// Calendar evaluates a cron spec on the wall clock of its time zone. Unlike robfig/cron's
// Next, which skips a time that falls into a spring-forward gap and can fire twice in a
// repeated autumn hour, every wall-clock slot the spec names maps to exactly one instant:
// a slot inside a gap fires at the instant Go's time.Date gives it (just after the gap),
// and a repeated hour fires once. So DST neither skips nor doubles a transition.
type Calendar struct {
	spec *cron.SpecSchedule
	loc  *time.Location
	text string
}

// NewCalendar wraps a parsed repository cron spec.
func NewCalendar(c repoconfig.Cron) (Calendar, error) {
	ss, ok := c.Schedule.(*cron.SpecSchedule)
	if !ok || c.Location == nil {
		return Calendar{}, fmt.Errorf("cron spec %q: not a calendar spec with a time zone", c.Spec)
	}
	return Calendar{spec: ss, loc: c.Location, text: c.Spec}, nil
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
	// Walk local calendar days, one day of margin on each side for zone offsets.
	fl := from.In(c.loc)
	day := time.Date(fl.Year(), fl.Month(), fl.Day()-1, 12, 0, 0, 0, c.loc)
	for ; ; day = time.Date(day.Year(), day.Month(), day.Day()+1, 12, 0, 0, 0, c.loc) {
		if day.After(to.Add(36 * time.Hour)) {
			break
		}
		if !c.dayMatches(day) {
			continue
		}
		for h := 0; h < 24; h++ {
			if c.spec.Hour&(1<<uint(h)) == 0 {
				continue
			}
			for m := 0; m < 60; m++ {
				if c.spec.Minute&(1<<uint(m)) == 0 {
					continue
				}
				t := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, c.loc)
				if !t.Before(from) && t.Before(to) && (len(out) == 0 || t.After(out[len(out)-1])) {
					out = append(out, t)
				}
			}
		}
	}
	return out
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

// dayMatches applies cron's day rule: when either day field is "*", both must match;
// otherwise either may.
func (c Calendar) dayMatches(day time.Time) bool {
	if c.spec.Month&(1<<uint(day.Month())) == 0 {
		return false
	}
	dom := c.spec.Dom&(1<<uint(day.Day())) > 0
	dow := c.spec.Dow&(1<<uint(day.Weekday())) > 0
	if c.spec.Dom&starBit > 0 || c.spec.Dow&starBit > 0 {
		return dom && dow
	}
	return dom || dow
}
