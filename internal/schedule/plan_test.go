package schedule_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/repoconfig"
	"github.com/stagecoach/stagecoach/internal/schedule"
)

func calendar(t *testing.T, spec string) schedule.Calendar {
	t.Helper()
	c, err := repoconfig.ParseCron(spec)
	if err != nil {
		t.Fatalf("parsing %q: %v", spec, err)
	}
	cal, err := schedule.NewCalendar(c)
	if err != nil {
		t.Fatal(err)
	}
	return cal
}

func plan(t *testing.T, sleep, wake string) schedule.Plan {
	t.Helper()
	return schedule.Plan{Environment: "dev", Sleep: calendar(t, sleep), Wake: calendar(t, wake), ConfigKey: "stagecoach:sleeping"}
}

func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCalendarDST(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, spec, zone, day string
		want                  int
	}{
		// 2027-03-28: Berlin skips 02:00–03:00. robfig/cron's Next skips the 02:30 run that day.
		{name: "Berlin spring forward does not skip 02:30", spec: "CRON_TZ=Europe/Berlin 30 2 * * *", zone: "Europe/Berlin", day: "2027-03-28", want: 1},
		// 2026-10-25: Berlin repeats 02:00–03:00. A naive runner fires 02:30 twice.
		{name: "Berlin autumn does not double 02:30", spec: "CRON_TZ=Europe/Berlin 30 2 * * *", zone: "Europe/Berlin", day: "2026-10-25", want: 1},
		// 2027-03-14: New York skips 02:00–03:00.
		{name: "New York spring forward does not skip 02:15", spec: "CRON_TZ=America/New_York 15 2 * * *", zone: "America/New_York", day: "2027-03-14", want: 1},
		// 2026-11-01: New York repeats 01:00–02:00.
		{name: "New York autumn does not double 01:30", spec: "CRON_TZ=America/New_York 30 1 * * *", zone: "America/New_York", day: "2026-11-01", want: 1},
		{name: "an ordinary day fires once", spec: "CRON_TZ=Europe/Berlin 0 20 * * *", zone: "Europe/Berlin", day: "2026-11-27", want: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cal := calendar(t, c.spec)
			start := at(t, c.zone, c.day+" 00:00")
			end := start.AddDate(0, 0, 1)
			got := cal.Between(start, end)
			if len(got) != c.want {
				t.Fatalf("%d activations on %s: %v", len(got), c.day, got)
			}
		})
	}

	t.Run("activations keep local time across the change", func(t *testing.T) {
		t.Parallel()
		cal := calendar(t, "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI")
		got := cal.Between(at(t, "Europe/Berlin", "2027-03-26 00:00"), at(t, "Europe/Berlin", "2027-03-30 00:00"))
		want := []string{"2027-03-26 06:00 UTC", "2027-03-29 05:00 UTC"} // 07:00 CET, then 07:00 CEST
		if len(got) != len(want) {
			t.Fatalf("got %v", got)
		}
		for i := range want {
			if s := got[i].UTC().Format("2006-01-02 15:04 MST"); s != want[i] {
				t.Errorf("activation %d = %s, want %s", i, s, want[i])
			}
		}
	})
}

func TestDesired(t *testing.T) {
	t.Parallel()
	const zone = "Europe/Berlin"
	dev := plan(t, "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI", "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI")
	cases := []struct {
		name, now string
		want      schedule.State
	}{
		{"awake on a weekday afternoon", "2026-11-25 12:00", schedule.Awake},   // Wednesday
		{"asleep on a weekday night", "2026-11-25 21:00", schedule.Asleep},     // Wednesday
		{"asleep early on a weekday", "2026-11-26 06:59", schedule.Asleep},     // Thursday
		{"awake at the wake time exactly", "2026-11-26 07:00", schedule.Awake}, // Thursday
		{"asleep at the sleep time exactly", "2026-11-26 20:00", schedule.Asleep},
		{"asleep all weekend", "2026-11-29 15:00", schedule.Asleep},   // Sunday
		{"awake again on Monday", "2026-11-30 07:01", schedule.Awake}, // Monday
		{"catch-up: a bot down over 20:00 sees sleep when back", "2026-11-25 23:47", schedule.Asleep},
		{"right after spring forward, Monday 07:00 CEST wakes", "2027-03-29 07:00", schedule.Awake},
		{"right after spring forward, Monday 06:30 CEST is still asleep", "2027-03-29 06:30", schedule.Asleep},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d := dev.Desired(at(t, zone, c.now), nil, time.Time{})
			if d.State != c.want {
				t.Fatalf("at %s: %s (%s), want %s", c.now, d.State, d.Reason, c.want)
			}
		})
	}

	t.Run("in New York the same spec follows New York's clock", func(t *testing.T) {
		t.Parallel()
		ny := plan(t, "CRON_TZ=America/New_York 0 20 * * MON-FRI", "CRON_TZ=America/New_York 0 7 * * MON-FRI")
		// 2026-11-25 21:00 in Berlin is 15:00 in New York: awake there, asleep in Berlin.
		now := at(t, zone, "2026-11-25 21:00")
		if got := ny.Desired(now, nil, time.Time{}).State; got != schedule.Awake {
			t.Fatalf("New York at 15:00 local: %s", got)
		}
		if got := dev.Desired(now, nil, time.Time{}).State; got != schedule.Asleep {
			t.Fatalf("Berlin at 21:00 local: %s", got)
		}
	})

	t.Run("an override wins until it expires", func(t *testing.T) {
		t.Parallel()
		now := at(t, zone, "2026-11-25 21:00")
		o := &schedule.Override{State: schedule.Awake, Until: now.Add(2 * time.Hour), By: "alice", At: now}
		if d := dev.Desired(now, o, time.Time{}); d.State != schedule.Awake || d.Override == nil {
			t.Fatalf("with the override: %+v", d)
		}
		if d := dev.Desired(now.Add(2*time.Hour), o, time.Time{}); d.State != schedule.Asleep || d.Override != nil {
			t.Fatalf("after it expired: %+v", d)
		}
	})

	t.Run("a fresh PR environment gets its grace period", func(t *testing.T) {
		t.Parallel()
		pr := dev
		pr.Grace = time.Hour
		now := at(t, zone, "2026-11-25 21:00")
		if d := pr.Desired(now, nil, now.Add(-30*time.Minute)); d.State != schedule.Awake {
			t.Fatalf("30 minutes old: %+v", d)
		}
		if d := pr.Desired(now, nil, now.Add(-61*time.Minute)); d.State != schedule.Asleep {
			t.Fatalf("61 minutes old: %+v", d)
		}
	})
}

func TestUpcoming(t *testing.T) {
	t.Parallel()
	staging := plan(t, "CRON_TZ=Europe/Berlin 0 20 * * FRI", "CRON_TZ=Europe/Berlin 0 7 * * MON")
	got := staging.Upcoming(at(t, "Europe/Berlin", "2026-11-25 12:00"), 3)
	want := []struct {
		at    string
		state schedule.State
	}{
		{"Fri 2026-11-27 20:00 CET", schedule.Asleep},
		{"Mon 2026-11-30 07:00 CET", schedule.Awake},
		{"Fri 2026-12-04 20:00 CET", schedule.Asleep},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, w := range want {
		if s := got[i].At.Format("Mon 2006-01-02 15:04 MST"); s != w.at || got[i].State != w.state {
			t.Errorf("transition %d = %s %s, want %s %s", i, s, got[i].State, w.at, w.state)
		}
	}
}

func TestTypicalWeek(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, sleep, wake string
		awake             float64
		saved             float64
	}{
		{"dev awake 07:00–20:00 on weekdays", "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI", "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI", 65, 0.61},
		{"staging asleep Friday 20:00 to Monday 07:00", "CRON_TZ=America/New_York 0 20 * * FRI", "CRON_TZ=America/New_York 0 7 * * MON", 109, 0.35},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := plan(t, c.sleep, c.wake).TypicalWeek()
			if w.Awake.Hours() != c.awake || w.Total.Hours() != 168 {
				t.Fatalf("awake %v of %v, want %v of 168h", w.Awake, w.Total, c.awake)
			}
			if math.Abs(w.Saved()-c.saved) > 0.005 {
				t.Fatalf("saved %.3f, want %.2f", w.Saved(), c.saved)
			}
		})
	}
}

func TestComingWithOverrides(t *testing.T) {
	t.Parallel()
	const zone = "Europe/Berlin"
	dev := plan(t, "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI", "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI")
	now := at(t, zone, "2026-11-25 21:00") // Wednesday night, asleep by schedule
	cases := []struct {
		name string
		o    *schedule.Override
		want []string
	}{
		{"without an override the schedule alone", nil,
			[]string{"awake Thu 26 Nov 07:00 CET", "asleep Thu 26 Nov 20:00 CET"}},
		{"a /wake override ends in the scheduled sleep", &schedule.Override{State: schedule.Awake, Until: at(t, "UTC", "2026-11-25 22:00")},
			[]string{"asleep Wed 25 Nov 23:00 CET", "awake Thu 26 Nov 07:00 CET"}},
		{"a /sleep override in the day ends in the scheduled wake", &schedule.Override{State: schedule.Asleep, Until: at(t, zone, "2026-11-26 12:00")},
			[]string{"awake Thu 26 Nov 12:00 CET", "asleep Thu 26 Nov 20:00 CET"}},
		{"an override ending where the schedule agrees adds no transition", &schedule.Override{State: schedule.Asleep, Until: at(t, zone, "2026-11-26 06:00")},
			[]string{"awake Thu 26 Nov 07:00 CET", "asleep Thu 26 Nov 20:00 CET"}},
		{"an override that ended is ignored", &schedule.Override{State: schedule.Awake, Until: at(t, zone, "2026-11-25 20:30")},
			[]string{"awake Thu 26 Nov 07:00 CET", "asleep Thu 26 Nov 20:00 CET"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, tr := range dev.Coming(now, c.o, 2) {
				got = append(got, string(tr.State)+" "+tr.At.Format("Mon 2 Jan 15:04 MST"))
			}
			if strings.Join(got, ", ") != strings.Join(c.want, ", ") {
				t.Fatalf("Coming = %v, want %v", got, c.want)
			}
		})
	}
}

func TestProductionNeverSleeps(t *testing.T) {
	t.Parallel()
	prod := plan(t, "CRON_TZ=Europe/Berlin 0 20 * * MON-FRI", "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI")
	prod.Production = true
	night := at(t, "Europe/Berlin", "2026-11-25 23:00")
	sleep := &schedule.Override{State: schedule.Asleep, Until: night.Add(time.Hour), By: "mallory", At: night}
	if d := prod.Desired(night, sleep, time.Time{}); d.State != schedule.Awake {
		t.Fatalf("production at night with a /sleep override: %+v", d)
	}
	if next := prod.Coming(night, nil, 2); len(next) != 0 {
		t.Fatalf("production has transitions: %v", next)
	}
	if w := prod.TypicalWeek(); w.Awake != w.Total {
		t.Fatalf("production week: %+v", w)
	}
}
