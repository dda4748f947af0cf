package repoconfig

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxDays bounds the day component so that a duration never overflows
// time.Duration (about 292 years); nobody needs a soak time of a century.
const maxDays = 36500

// ParseDuration parses a duration as written in .stagecoach.yaml and in
// commands such as "/extend 2d".
//
// The syntax is Go's time.ParseDuration (a sequence of numbers with units
// ns, us, µs, ms, s, m, h, e.g. "90m", "1h30m") plus the unit "d" for whole
// days of 24 hours, e.g. "3d" or "1d12h". A bare "0" means zero. Signs are
// not accepted: no setting takes a negative duration. Fractions are allowed
// for the Go units ("1.5h") but not for days.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty duration (write e.g. 90m, 12h or 3d)")
	}
	if s == "0" {
		return 0, nil
	}
	if s[0] == '-' {
		return 0, errors.New("must not be negative")
	}
	if s[0] == '+' {
		return 0, errors.New("must not have a sign")
	}
	if strings.ContainsAny(s, " \t") {
		return 0, errors.New("must not contain spaces (write e.g. 1h30m or 3d)")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && isNumberByte(rest[i]) {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("expected a number at %q (write e.g. 90m, 12h or 3d)", rest)
		}
		j := i
		for j < len(rest) && !isNumberByte(rest[j]) {
			j++
		}
		number, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if unit == "" {
			return 0, fmt.Errorf("missing unit after %s (use s, m, h or d, e.g. %sh)", number, number)
		}
		var part time.Duration
		if unit == "d" {
			days, err := strconv.ParseUint(number, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("days must be a whole number, got %q (write e.g. 1d12h)", number+unit)
			}
			if days > maxDays {
				return 0, fmt.Errorf("%s days is too long (at most %d)", number, maxDays)
			}
			part = time.Duration(days) * 24 * time.Hour
		} else {
			switch unit {
			case "ns", "us", "µs", "μs", "ms", "s", "m", "h":
			default:
				return 0, fmt.Errorf("unknown unit %q (use ns, us, ms, s, m, h or d)", unit)
			}
			var err error
			part, err = time.ParseDuration(number + unit)
			if err != nil {
				return 0, fmt.Errorf("invalid or too long %q", number+unit)
			}
		}
		if total > math.MaxInt64-part {
			return 0, errors.New("too long")
		}
		total += part
	}
	return total, nil
}

func isNumberByte(b byte) bool {
	return b == '.' || ('0' <= b && b <= '9')
}

// FormatDuration renders d the way ParseDuration reads it, using days for
// whole multiples of 24h ("3d", "1d12h", "90m"), so messages echo the
// syntax users write.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	day := 24 * time.Hour
	days := d / day
	rest := d % day
	var b strings.Builder
	b.WriteString(sign)
	if days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10))
		b.WriteString("d")
	}
	if rest > 0 {
		s := rest.String()
		// time.Duration.String writes "1h0m0s"; trim the zero tails.
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		b.WriteString(s)
	}
	return b.String()
}
