package repoconfig

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	valid := map[string]time.Duration{
		"0":       0,
		"90m":     90 * time.Minute,
		"1h30m":   90 * time.Minute,
		"1.5h":    90 * time.Minute,
		"500ms":   500 * time.Millisecond,
		"3d":      72 * time.Hour,
		"1d12h":   36 * time.Hour,
		"2d3h4m":  51*time.Hour + 4*time.Minute,
		"0d":      0,
		"36500d":  36500 * 24 * time.Hour,
		"1h1d":    25 * time.Hour,
		"10s10s":  20 * time.Second,
		"0.5m30s": time.Minute,
	}
	for in, want := range valid {
		t.Run("accepts "+in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(in)
			if err != nil || got != want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
			}
		})
	}
	invalid := map[string]string{
		"":                         "empty duration (write e.g. 90m, 12h or 3d)",
		"-1h":                      "must not be negative",
		"+1h":                      "must not have a sign",
		"3x":                       `unknown unit "x" (use ns, us, ms, s, m, h or d)`,
		"3":                        "missing unit after 3 (use s, m, h or d, e.g. 3h)",
		"1.5d":                     `days must be a whole number, got "1.5d" (write e.g. 1d12h)`,
		"d":                        `expected a number at "d" (write e.g. 90m, 12h or 3d)`,
		"1h 2m":                    "must not contain spaces (write e.g. 1h30m or 3d)",
		"36501d":                   "36501 days is too long (at most 36500)",
		"36500d36500d36500d":       "too long",
		"9999999999999999999h":     `invalid or too long "9999999999999999999h"`,
		"1..5h":                    `invalid or too long "1..5h"`,
		"3 days":                   "must not contain spaces (write e.g. 1h30m or 3d)",
		"72H":                      `unknown unit "H" (use ns, us, ms, s, m, h or d)`,
		"1d-1h":                    `unknown unit "d-" (use ns, us, ms, s, m, h or d)`,
		"99999999999999999999999d": `days must be a whole number, got "99999999999999999999999d" (write e.g. 1d12h)`,
	}
	for in, want := range invalid {
		t.Run("refuses "+in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(in)
			if err == nil || err.Error() != want {
				t.Errorf("ParseDuration(%q) = %v, %v; want error %q", in, got, err, want)
			}
		})
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                          "0",
		72 * time.Hour:             "3d",
		36 * time.Hour:             "1d12h",
		90 * time.Minute:           "1h30m",
		12 * time.Hour:             "12h",
		1500 * time.Millisecond:    "1.5s",
		24*time.Hour + time.Second: "1d1s",
	} {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		back, err := ParseDuration(got)
		if err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
}
