package render

import (
	"strconv"
	"strings"
	"time"

	"github.com/stagecoach/stagecoach/internal/engine"
)

// changeOps lists the operations that change a resource, in the order counts are listed.
func changeOps() [4]engine.Op {
	return [...]engine.Op{engine.OpCreate, engine.OpUpdate, engine.OpReplace, engine.OpDelete}
}

// Summary returns the plain-text one-line summary of r, for check run titles and commit statuses:
// "Preview: 2 to create, 1 to update, 5 unchanged", "Update failed: 1 created", "Preview: no changes".
func Summary(r engine.Result) string {
	s := kindLabel(r.Kind)
	if !r.Succeeded {
		s += " failed"
		if c := counts(r); c != "" && r.Changed() > 0 {
			s += ": " + c
		}
		return s
	}
	if r.Changed() == 0 {
		return s + ": no changes"
	}
	return s + ": " + counts(r)
}

// headline returns the markdown headline: the bold title, then the counts.
func headline(r engine.Result, title string) string {
	s := "**" + title + "**"
	switch {
	case !r.Succeeded && r.Changed() == 0:
		return s + " failed"
	case !r.Succeeded:
		return s + " failed: " + counts(r)
	case r.Changed() == 0 && r.Counts[engine.OpSame] > 0:
		return s + ": No changes (" + number(r.Counts[engine.OpSame]) + " unchanged)"
	case r.Changed() == 0:
		return s + ": No changes"
	}
	return s + ": " + counts(r)
}

// counts lists the non-zero counts of r in a fixed order, worded for its kind:
// "2 to create, 1 to replace, 5 unchanged" for previews, "2 created, 1 replaced" otherwise.
func counts(r engine.Result) string {
	var parts []string
	for _, op := range changeOps() {
		if n := r.Counts[op]; n > 0 {
			parts = append(parts, number(n)+" "+opPhrase(r.Kind, op))
		}
	}
	if n := r.Counts[engine.OpSame]; n > 0 {
		parts = append(parts, number(n)+" unchanged")
	}
	return strings.Join(parts, ", ")
}

// opPhrase words an operation for a count: "to create" in a preview, "created" after the fact.
func opPhrase(k engine.Kind, op engine.Op) string {
	if k == engine.KindPreview {
		return "to " + string(op)
	}
	return strings.TrimSuffix(string(op), "e") + "ed"
}

// kindLabel names an operation for people.
func kindLabel(k engine.Kind) string {
	switch k {
	case engine.KindPreview:
		return "Preview"
	case engine.KindUp:
		return "Update"
	case engine.KindDestroy:
		return "Destroy"
	}
	return "Operation"
}

// marker is the one-character sign of an operation in the changes table.
func marker(op engine.Op) string {
	switch op {
	case engine.OpCreate:
		return "+"
	case engine.OpUpdate:
		return "~"
	case engine.OpReplace:
		return "±"
	case engine.OpDelete:
		return "-"
	}
	return " "
}

// priority orders operations for keeping table rows when trimming: the destructive ones first.
func priority(op engine.Op) int {
	switch op {
	case engine.OpDelete:
		return 0
	case engine.OpReplace:
		return 1
	case engine.OpUpdate:
		return 2
	case engine.OpCreate:
		return 3
	}
	return 4
}

// number formats n with thousands separators: 12,345.
func number(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// duration formats d for people: 850ms, 12.3s, 1m2s, 5m, 1h2m3s, 2h.
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	s := d.Round(time.Second).String() // 1h2m3s, 5m0s, 2h0m0s
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
