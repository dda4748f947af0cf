package schedule

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is one environment's line in `bot schedule` and in /metrics.
type Status struct {
	// Repo is "owner/name" ("" for a local file).
	Repo string
	// Plan is the environment's schedule.
	Plan Plan
	// Decision is its desired state now.
	Decision Decision
	// Next are the coming transitions, with the override in force.
	Next []Transition
	// Week is a typical week's awake time.
	Week Week
}

// Evaluate computes the status of each plan at now with the overrides in force (by environment).
func Evaluate(repo string, now time.Time, plans []Plan, overrides map[string]*Override) []Status {
	out := make([]Status, 0, len(plans))
	for _, p := range plans {
		out = append(out, Status{Repo: repo, Plan: p, Decision: p.Desired(now, overrides[p.Environment], time.Time{}),
			Next: p.Coming(now, overrides[p.Environment], 2), Week: p.TypicalWeek()})
	}
	return out
}

// WriteReport prints statuses as a table people read: state now, override, next transitions
// in the schedule's own time zone, awake hours per week and the share saved.
func WriteReport(w io.Writer, statuses []Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENVIRONMENT\tNOW\tOVERRIDE\tNEXT\tAWAKE/WEEK\tSAVED")
	for _, s := range statuses {
		name := s.Plan.Environment
		if s.Repo != "" {
			name = s.Repo + " " + name
		}
		override := "-"
		if o := s.Decision.Override; o != nil {
			override = fmt.Sprintf("%s by %s until %s", o.State, o.By, o.Until.In(s.Plan.Sleep.Location()).Format("Mon 15:04 MST"))
		}
		var next []string
		for _, t := range s.Next {
			next = append(next, fmt.Sprintf("%s %s", verb(t.State), t.At.In(s.Plan.Sleep.Location()).Format("Mon 2 Jan 15:04 MST")))
		}
		if len(next) == 0 {
			next = []string{"-"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f of %.0f h\t%.0f%%\n", name, s.Decision.State, override,
			strings.Join(next, ", "), s.Week.Awake.Hours(), s.Week.Total.Hours(), s.Week.Saved()*100)
	}
	return tw.Flush()
}

func verb(s State) string {
	if s == Asleep {
		return "sleeps"
	}
	return "wakes"
}
