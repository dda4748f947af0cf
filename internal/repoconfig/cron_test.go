package repoconfig

import (
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func mustLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseCronTurnsRobfigPanicsIntoErrors(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"TZ=0", "CRON_TZ=UTC", "TZ=UTC", "CRON_TZ="} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				_, _ = cron.ParseStandard(spec)
				return false
			}()
			if !panicked {
				t.Errorf("robfig/cron no longer panics on %q; the trap this test guards is gone", spec)
			}
			if _, err := ParseCron(spec); err == nil {
				t.Errorf("ParseCron(%q) succeeded", spec)
			}
		})
	}
}

func TestParseCron(t *testing.T) {
	t.Parallel()
	t.Run("computes times in the given zone across a DST change", func(t *testing.T) {
		t.Parallel()
		c, err := ParseCron("CRON_TZ=Europe/Berlin 0 7 * * MON-FRI")
		if err != nil {
			t.Fatal(err)
		}
		if c.Location.String() != "Europe/Berlin" || c.Spec != "CRON_TZ=Europe/Berlin 0 7 * * MON-FRI" {
			t.Errorf("location %v spec %q", c.Location, c.Spec)
		}
		// Summer time starts on Sunday 2025-03-30: 07:00 in Berlin is 06:00
		// UTC on Friday the 28th and 05:00 UTC on Monday the 31st.
		next := c.Next(time.Date(2025, 3, 28, 6, 30, 0, 0, time.UTC))
		if want := time.Date(2025, 3, 31, 5, 0, 0, 0, time.UTC); !next.Equal(want) {
			t.Errorf("Next = %v, want %v", next, want)
		}
	})
	t.Run("accepts descriptors in the zone", func(t *testing.T) {
		t.Parallel()
		c, err := ParseCron("CRON_TZ=Asia/Tokyo @daily")
		if err != nil {
			t.Fatal(err)
		}
		next := c.Next(time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC))
		if want := time.Date(2025, 1, 1, 15, 0, 0, 0, time.UTC); !next.Equal(want) {
			t.Errorf("Next = %v, want %v (midnight in Tokyo)", next, want)
		}
	})
	t.Run("accepts tabs and surrounding space", func(t *testing.T) {
		t.Parallel()
		if _, err := ParseCron(" CRON_TZ=UTC\t0 7 * * * "); err != nil {
			t.Error(err)
		}
	})
	for _, spec := range []string{"CRON_TZ=UTC */15 9-17 * * MON-FRI", "CRON_TZ=UTC 0 0 1,15 * *", "CRON_TZ=UTC 0 12 * JAN-MAR,dec sun",
		"CRON_TZ=UTC 5/10 * ? * *", "CRON_TZ=UTC 0 0-23/2 * * 0-6", "CRON_TZ=UTC 59 23 31 12 6", "CRON_TZ=UTC @hourly"} {
		t.Run("accepts "+spec, func(t *testing.T) {
			t.Parallel()
			if _, err := ParseCron(spec); err != nil {
				t.Error(err)
			}
		})
	}
	refused := map[string]string{
		"":                                   "empty cron spec",
		"0 7 * * *":                          `missing time zone: start the spec with CRON_TZ=<IANA zone>, e.g. "CRON_TZ=UTC 0 7 * * *"`,
		"TZ=UTC 0 7 * * *":                   "write the time zone as CRON_TZ=<zone>, not TZ=<zone>",
		"CRON_TZ=Local 0 7 * * *":            `time zone "Local" depends on the server: name an IANA zone such as Europe/Berlin or UTC`,
		"CRON_TZ= 0 7 * * *":                 "empty time zone (write e.g. CRON_TZ=Europe/Berlin)",
		"CRON_TZ=../../etc/passwd 0 7 * * *": `unknown time zone "../../etc/passwd" (use an IANA name such as Europe/Berlin, America/New_York or UTC)`,
		"CRON_TZ=UTC CRON_TZ=UTC 0 7 * * *":  "time zone given twice",
		"CRON_TZ=UTC @every 5m":              `@every is not supported: use a calendar spec such as "0 */2 * * *"`,
		"CRON_TZ=UTC @fortnightly":           `unknown shorthand "@fortnightly": use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly`,
		"CRON_TZ=UTC @dayly":                 `unknown shorthand "@dayly": use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly (did you mean "@daily"?)`,
		"CRON_TZ=UTC 0 7 * *":                "expected 5 fields (minute hour day-of-month month day-of-week), found 4",
		"CRON_TZ=UTC 0 7 * * 8":              "day of week 8 is out of range: use SUN–SAT or 0–6, 0 being Sunday",
		"CRON_TZ=UTC 0 7 * * 7":              "day of week 7 is out of range: write 0 or SUN for Sunday",
		"CRON_TZ=UTC 0 20 * * FRY":           `day of week "FRY" is not one of SUN–SAT or 0–6, 0 being Sunday (did you mean "FRI"?)`,
		"CRON_TZ=UTC 0 20 * * MON-FRY":       `day of week "FRY" is not one of SUN–SAT or 0–6, 0 being Sunday (did you mean "FRI"?)`,
		"CRON_TZ=UTC 0 20 * * FRI-MON":       `day of week range "FRI-MON" runs backwards: write the lower value first, or list the values (e.g. FRI,SAT,SUN,MON)`,
		"CRON_TZ=UTC 0 7 * JUNE *":           `month "JUNE" is not one of JAN–DEC or 1–12 (did you mean "JUN"?)`,
		"CRON_TZ=UTC 0 7 0 * *":              "day of month 0 is out of range: use 1–31",
		"CRON_TZ=UTC 60 7 * * *":             "minute 60 is out of range: use 0–59",
		"CRON_TZ=UTC x 7 * * *":              `minute "x" is not a number in 0–59`,
		"CRON_TZ=UTC 0 7,,9 * * *":           `hour "7,,9" has an empty item (two commas, or one at an end)`,
		"CRON_TZ=UTC */0 7 * * *":            `minute step "/0" must be a whole number from 1 to 60`,
		"CRON_TZ=UTC 0 -3 * * *":             `hour "-3" is neither a value nor a range such as 1-5 (values cannot be negative)`,
		"CRON_TZ=UTC 0 7 31 4 *":             "never fires: no month has that day",
	}
	for spec, want := range refused {
		t.Run("refuses "+spec, func(t *testing.T) {
			t.Parallel()
			_, err := ParseCron(spec)
			if err == nil || err.Error() != want {
				t.Errorf("ParseCron(%q) error = %v, want %q", spec, err, want)
			}
			for _, foreign := range []string{"strconv", "robfig", "failed to parse", "descriptor", "above maximum"} {
				if err != nil && strings.Contains(err.Error(), foreign) {
					t.Errorf("ParseCron(%q) error %q speaks robfig/cron's or strconv's words (%q)", spec, err, foreign)
				}
			}
		})
	}
}

func TestFreezeWindowActiveAt(t *testing.T) {
	t.Parallel()
	berlin := mustLocation(t, "Europe/Berlin")
	weekend, err := ParseCron("CRON_TZ=Europe/Berlin 0 18 * * FRI")
	if err != nil {
		t.Fatal(err)
	}
	twoDays, err := ParseCron("CRON_TZ=Europe/Berlin 0 9 * * MON,TUE")
	if err != nil {
		t.Fatal(err)
	}
	recurring := FreezeWindow{Reason: "weekend", Cron: &weekend, Duration: 62 * time.Hour}
	overlapping := FreezeWindow{Reason: "release days", Cron: &twoDays, Duration: 25 * time.Hour}
	oneOff := FreezeWindow{Reason: "holidays", Start: time.Date(2025, 12, 20, 0, 0, 0, 0, berlin), End: time.Date(2026, 1, 5, 0, 0, 0, 0, berlin)}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	cases := []struct {
		name    string
		window  FreezeWindow
		t       time.Time
		active  bool
		wantEnd time.Time
	}{
		{"before a recurring window", recurring, at(2025, 6, 6, 17, 59), false, time.Time{}},
		{"at the start of a recurring window", recurring, at(2025, 6, 6, 18, 0), true, at(2025, 6, 9, 8, 0)},
		{"inside a recurring window", recurring, at(2025, 6, 8, 12, 0), true, at(2025, 6, 9, 8, 0)},
		{"at the end of a recurring window", recurring, at(2025, 6, 9, 8, 0), false, time.Time{}},
		{"overlapping occurrences extend the freeze", overlapping, at(2025, 6, 9, 12, 0), true, at(2025, 6, 11, 10, 0)},
		{"after overlapping occurrences", overlapping, at(2025, 6, 11, 10, 0), false, time.Time{}},
		{"inside a one-off window", oneOff, at(2025, 12, 24, 12, 0), true, oneOff.End},
		{"at the end of a one-off window", oneOff, oneOff.End, false, time.Time{}},
		{"before a one-off window", oneOff, oneOff.Start.Add(-time.Second), false, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			active, end := tc.window.ActiveAt(tc.t)
			if active != tc.active || !end.Equal(tc.wantEnd) {
				t.Errorf("ActiveAt(%v) = %t, %v; want %t, %v", tc.t, active, end, tc.active, tc.wantEnd)
			}
		})
	}
}
