package repoconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// cronField is one of the five fields of a standard cron spec, with the
// values it accepts.
type cronField struct {
	name     string
	min, max int
	// names are the accepted names, names[i] standing for min+i.
	names []string
	// allowed says what may be written, for messages.
	allowed string
}

// cronFields are the fields in spec order, with the ranges robfig/cron
// accepts (it reads day of week 0–6, Sunday being 0, and no 7).
func cronFields() []cronField {
	return []cronField{
		{name: "minute", min: 0, max: 59, allowed: "0–59"},
		{name: "hour", min: 0, max: 23, allowed: "0–23"},
		{name: "day of month", min: 1, max: 31, allowed: "1–31"},
		{name: "month", min: 1, max: 12, names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}, allowed: "JAN–DEC or 1–12"},
		{name: "day of week", min: 0, max: 6, names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}, allowed: "SUN–SAT or 0–6, 0 being Sunday"},
	}
}

// cronDescriptors are the accepted shorthands ("@every" is refused
// separately).
var cronDescriptors = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// checkCronFields checks the schedule part of a spec (after the zone) and
// says in the file's terms what is wrong, so that robfig/cron's own messages
// ("failed to parse int from FRY: strconv.Atoi: …") never reach a person.
func checkCronFields(body string) error {
	if strings.HasPrefix(body, "@") {
		if !slices.Contains(cronDescriptors, body) {
			return fmt.Errorf("unknown shorthand %q: use one of %s%s", body, strings.Join(cronDescriptors, ", "), didYouMean(body, cronDescriptors))
		}
		return nil
	}
	parts := strings.Fields(body)
	if len(parts) != 5 {
		hint := ""
		if len(parts) == 6 {
			hint = " (seconds are not supported)"
		}
		return fmt.Errorf("expected 5 fields (minute hour day-of-month month day-of-week), found %d%s", len(parts), hint)
	}
	for i, f := range cronFields() {
		if err := f.check(parts[i]); err != nil {
			return err
		}
	}
	return nil
}

// check checks one field: a comma-separated list of "*" or "?" (any), a
// value, or a range a-b, each optionally followed by /step.
func (f cronField) check(text string) error {
	for item := range strings.SplitSeq(text, ",") {
		if item == "" {
			return fmt.Errorf("%s %q has an empty item (two commas, or one at an end)", f.name, text)
		}
		span, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 || n > f.max-f.min+1 {
				return fmt.Errorf("%s step %q must be a whole number from 1 to %d", f.name, "/"+step, f.max-f.min+1)
			}
		}
		if span == "*" || span == "?" {
			continue
		}
		lo, hi, isRange := strings.Cut(span, "-")
		if isRange && (lo == "" || hi == "") {
			return fmt.Errorf("%s %q is neither a value nor a range such as 1-5 (values cannot be negative)", f.name, span)
		}
		a, err := f.value(lo)
		if err != nil {
			return err
		}
		if !isRange {
			continue
		}
		b, err := f.value(hi)
		if err != nil {
			return err
		}
		if a > b {
			return fmt.Errorf("%s range %q runs backwards: write the lower value first, or list the values (e.g. %s)", f.name, span, f.wrapped(a, b))
		}
	}
	return nil
}

// value reads one value of the field, by number or by name.
func (f cronField) value(s string) (int, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < f.min || n > f.max {
			if f.name == "day of week" && s == "7" {
				return 0, fmt.Errorf("day of week 7 is out of range: write 0 or SUN for Sunday")
			}
			return 0, fmt.Errorf("%s %s is out of range: use %s", f.name, s, f.allowed)
		}
		return n, nil
	}
	if i := slices.IndexFunc(f.names, func(n string) bool { return strings.EqualFold(n, s) }); i >= 0 {
		return f.min + i, nil
	}
	if f.names == nil {
		return 0, fmt.Errorf("%s %q is not a number in %s", f.name, s, f.allowed)
	}
	return 0, fmt.Errorf("%s %q is not one of %s%s", f.name, s, f.allowed, didYouMean(strings.ToUpper(s), f.names))
}

// wrapped lists the values from a up to the field's end and on from its
// start to b, the way a backwards range was probably meant.
func (f cronField) wrapped(a, b int) string {
	var out []string
	name := func(v int) string {
		if f.names != nil {
			return f.names[v-f.min]
		}
		return strconv.Itoa(v)
	}
	for v := a; v <= f.max; v++ {
		out = append(out, name(v))
	}
	for v := f.min; v <= b; v++ {
		out = append(out, name(v))
	}
	return strings.Join(out, ",")
}
