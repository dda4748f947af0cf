package repoconfig

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronTZPrefix starts every cron spec in .stagecoach.yaml: the time zone is
// mandatory, because an implicit UTC (or the server's local zone) silently
// shifts every schedule by hours.
const cronTZPrefix = "CRON_TZ="

// cronParser accepts 5-field standard specs and the calendar descriptors;
// "@every" is refused separately because it is not tied to a time of day.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronProbe is the fixed instant used to check that a spec ever fires. A
// fixed instant keeps Parse deterministic.
var cronProbe = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// Cron is a parsed cron spec with its time zone, so callers compute times
// without reparsing.
//
// The accepted syntax is "CRON_TZ=<IANA zone> <spec>", where <spec> is a
// standard 5-field spec (minute hour day-of-month month day-of-week; names
// such as MON-FRI and JAN are allowed; "?" means "*") or one of the
// descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight,
// @hourly. The zone is required; "Local" is refused, and "@every" is refused
// because it is relative to when the process started, not to the calendar.
type Cron struct {
	// Spec is the text as written in the file.
	Spec string
	// Location is the time zone from the CRON_TZ= prefix.
	Location *time.Location
	// Fields is the schedule after the zone: five fields such as
	// "0 7 * * MON-FRI", or a shorthand such as "@daily".
	Fields string
	// Schedule computes the next activation, evaluating the spec in
	// Location; like Next, it returns times in the location of its argument.
	Schedule cron.Schedule
}

// Next returns the first activation strictly after t (in t's location), or
// the zero time if there is none within five years.
func (c Cron) Next(t time.Time) time.Time {
	return c.Schedule.Next(t)
}

// String returns the spec as written.
func (c Cron) String() string { return c.Spec }

// ParseCron parses a cron spec in the syntax described on Cron. It never
// panics: robfig/cron's parser panics on some malformed inputs, and those
// panics are turned into errors.
func ParseCron(spec string) (Cron, error) {
	return parseCron(spec, loadLocation)
}

// parseCron is ParseCron with the time zone loader injected, so a file's
// specs share their zones.
func parseCron(spec string, load func(string) (*time.Location, error)) (c Cron, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = Cron{}, fmt.Errorf("%q is not a schedule stagecoach can read (minute hour day-of-month month day-of-week)", spec)
		}
	}()
	text := strings.TrimSpace(spec)
	if text == "" {
		return Cron{}, errors.New("empty cron spec")
	}
	if !strings.HasPrefix(text, cronTZPrefix) {
		if strings.HasPrefix(text, "TZ=") {
			return Cron{}, errors.New(`write the time zone as CRON_TZ=<zone>, not TZ=<zone>`)
		}
		return Cron{}, fmt.Errorf(`missing time zone: start the spec with CRON_TZ=<IANA zone>, e.g. "CRON_TZ=UTC %s"`, text)
	}
	rest := text[len(cronTZPrefix):]
	cut := strings.IndexAny(rest, " \t")
	if cut < 0 {
		return Cron{}, fmt.Errorf("missing schedule after %s%s", cronTZPrefix, rest)
	}
	zone, body := rest[:cut], strings.TrimSpace(rest[cut:])
	loc, err := load(zone)
	if err != nil {
		return Cron{}, err
	}
	if body == "" {
		return Cron{}, fmt.Errorf("missing schedule after %s%s", cronTZPrefix, zone)
	}
	if strings.HasPrefix(body, "TZ=") || strings.HasPrefix(body, cronTZPrefix) {
		return Cron{}, errors.New("time zone given twice")
	}
	if strings.HasPrefix(body, "@every") {
		return Cron{}, errors.New("@every is not supported: use a calendar spec such as \"0 */2 * * *\"")
	}
	if err := checkCronFields(body); err != nil {
		return Cron{}, err
	}
	// The zone was checked above; robfig/cron loads it again from the
	// documented CRON_TZ= prefix, so its schedule is built through its
	// public API only.
	sched, err := cronParser.Parse(cronTZPrefix + zone + " " + body)
	if err != nil {
		return Cron{}, fmt.Errorf("%q is not a schedule stagecoach can read (minute hour day-of-month month day-of-week)", body)
	}
	if sched.Next(cronProbe).IsZero() {
		return Cron{}, errors.New("never fires: no month has that day")
	}
	return Cron{Spec: spec, Location: loc, Fields: body, Schedule: sched}, nil
}

// loadLocation loads an IANA time zone, refusing the machine-dependent
// "Local" and the empty name.
func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, errors.New("empty time zone (write e.g. CRON_TZ=Europe/Berlin)")
	case "Local":
		return nil, errors.New(`time zone "Local" depends on the server: name an IANA zone such as Europe/Berlin or UTC`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (use an IANA name such as Europe/Berlin, America/New_York or UTC)", name)
	}
	return loc, nil
}
