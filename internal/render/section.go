package render

import (
	"maps"
	"slices"
	"strings"

	"github.com/stagecoach/stagecoach/internal/engine"
)

// Every section is a block of markdown lines, each ending in "\n"; sections are separated by one
// empty line. Items (rows, hunks) are whole lines, so a section's length is its frame plus its items.

const (
	tableHeader   = "| | Resource | Type | Change |\n|---|---|---|---|\n"
	outputsHeader = "**Outputs**\n\n| Output | Value |\n|---|---|\n"
)

// row renders one line of the changes table.
func (z sanitizer) row(c engine.ResourceChange) string {
	op := string(c.Op)
	if marker(c.Op) == " " { // not one of ours: quote it
		op = code(z.line(op, maxName), true)
	}
	return "| " + marker(c.Op) + " | " + code(z.line(c.Name, maxName), true) + " | " +
		code(z.line(c.Type, maxName), true) + " | " + op + " |\n"
}

// outputRows renders the outputs table lines, sorted by output name. Secret outputs show
// the mask whatever their value.
func (z sanitizer) outputRows(outs map[string]engine.Output) []string {
	rows := make([]string, 0, len(outs))
	for _, name := range slices.Sorted(maps.Keys(outs)) {
		v := masked
		if !outs[name].Secret {
			v = z.line(outs[name].Value, maxOutput)
		}
		rows = append(rows, "| "+code(z.line(name, maxName), true)+" | "+code(v, true)+" |\n")
	}
	return rows
}

// appendHunk appends the diff lines of one changed resource to dst, stopping once dst has grown by
// more than cutoff bytes (such a hunk can never be shown).
//
//	@@ update web-sg (aws:ec2/securityGroup:SecurityGroup) @@
//	- ingress[0].cidrBlocks: 10.0.0.0/8
//	+ ingress[0].cidrBlocks: 0.0.0.0/0
//	+ tags.owner: team-a
func (z sanitizer) appendHunk(dst []byte, c engine.ResourceChange, cutoff int) []byte {
	start := len(dst)
	dst = append(dst, "@@ "...)
	dst = z.appendLine(dst, string(c.Op), maxName)
	dst = append(dst, ' ')
	dst = z.appendLine(dst, c.Name, maxName)
	dst = append(dst, " ("...)
	dst = z.appendLine(dst, c.Type, maxName)
	dst = append(dst, ") @@\n"...)
	for _, d := range c.Diffs {
		if len(dst)-start > cutoff {
			break
		}
		kind, forces := strings.CutSuffix(d.Kind, "-replace")
		switch kind {
		case "add":
			dst = z.appendDiffLine(dst, '+', d.Path, d.New)
		case "delete":
			dst = z.appendDiffLine(dst, '-', d.Path, d.Old)
		case "update":
			dst = z.appendDiffLine(dst, '-', d.Path, d.Old)
			dst = z.appendDiffLine(dst, '+', d.Path, d.New)
		default:
			dst = z.appendDiffLine(dst, '~', d.Path, d.Old, d.New)
		}
		if forces {
			dst = append(dst[:len(dst)-1], "  (forces replacement)\n"...)
		}
	}
	return dst
}

// appendDiffLine appends "sign path: value\n", or "sign path: old => new\n" for two values.
func (z sanitizer) appendDiffLine(dst []byte, sign byte, path string, values ...string) []byte {
	dst = append(dst, sign, ' ')
	n := len(dst)
	if dst = z.appendLine(dst, path, maxName); len(dst) == n {
		dst = append(dst, "(root)"...)
	}
	dst = append(dst, ": "...)
	for i, v := range values {
		if i > 0 {
			dst = append(dst, " => "...)
		}
		dst = z.appendValue(dst, v)
	}
	return append(dst, '\n')
}

// appendValue appends a property value for a diff line; the empty string is shown as "".
func (z sanitizer) appendValue(dst []byte, s string) []byte {
	n := len(dst)
	if dst = z.appendLine(dst, s, maxValue); len(dst) == n {
		dst = append(dst, `""`...)
	}
	return dst
}

// errorsSection renders the errors of a failed operation within about budget bytes: as many whole
// messages as fit, and always the first, cut short if need be. It reports how many it shows.
func (z sanitizer) errorsSection(r engine.Result, budget int) (section string, shown int) {
	if len(r.Errors) == 0 {
		return "**Error**: the operation failed without an error message; the full log may say more.\n", 0
	}
	label := "**Error**\n\n"
	if len(r.Errors) > 1 {
		label = "**Errors**\n\n"
	}
	// size is the section's length for a body of n bytes whose longest backtick run is run,
	// counting the "more errors" line at its longest.
	size := func(n, run int) int {
		f := max(3, run+1)
		return len(label) + f + len("text\n") + n + 1 + f + 1 + 1 + len(moreLine(len(r.Errors), "errors"))
	}
	var msgs []string
	n, run := 0, 0
	for i, e := range r.Errors {
		limit := maxError
		if i == 0 {
			limit = min(maxError, budget/3) // a third: its fence may be as long as it
		}
		m := strings.Trim(z.block(e, limit), "\n")
		sep := 0
		if i > 0 {
			sep = 2
		}
		if i > 0 && size(n+sep+len(m), max(run, longestRun(m, '`'))) > budget {
			break
		}
		msgs = append(msgs, m)
		n, run = n+sep+len(m), max(run, longestRun(m, '`'))
	}
	body := strings.Join(msgs, "\n\n")
	f := fence(body)
	section = label + f + "text\n" + body + "\n" + f + "\n"
	if hidden := len(r.Errors) - len(msgs); hidden > 0 {
		section += "\n" + moreLine(hidden, "errors")
	}
	return section, len(msgs)
}

// nextSteps renders the caller's next steps as a list, dropping lines past maxSteps bytes.
func (z sanitizer) nextSteps(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		l = z.oneLine(l)
		if l == "" {
			continue
		}
		if b.Len()+len(l)+3 > maxSteps {
			break
		}
		b.WriteString("- " + l + "\n")
	}
	if b.Len() == 0 {
		return ""
	}
	return "**Next steps**\n\n" + b.String()
}

// logRef says where the full log is, for the trimmed note: an autolink, a log id, or nothing better.
func (z sanitizer) logRef(url, logID string) string {
	if url != "" {
		return "at <" + url + ">"
	}
	if id := z.line(logID, maxID); id != "" {
		return "stored as " + code(id, false)
	}
	return "kept by stagecoach"
}

// footer renders the small print: how long the operation took and a link to its log.
func (z sanitizer) footer(r engine.Result, url string) string {
	var parts []string
	if r.Duration > 0 {
		parts = append(parts, "Took "+duration(r.Duration))
	}
	if url != "" {
		parts = append(parts, "[Full log](<"+url+">)")
	} else if id := z.line(r.LogID, maxID); id != "" {
		parts = append(parts, "Log "+code(id, false))
	}
	if len(parts) == 0 {
		return ""
	}
	return "<sub>" + strings.Join(parts, " · ") + "</sub>\n"
}

// moreLine says how many items of a trimmed list are not shown.
func moreLine(hidden int, what string) string {
	return "… and " + number(hidden) + " more " + what + ".\n"
}

// moreResources says how many changes the table leaves out, and which.
func moreResources(k engine.Kind, hidden map[engine.Op]int) string {
	total := 0
	var parts []string
	for _, op := range changeOps() {
		if n := hidden[op]; n > 0 {
			total += n
			parts = append(parts, number(n)+" "+opPhrase(k, op))
		}
	}
	ops := changeOps()
	for op, n := range hidden {
		if !slices.Contains(ops[:], op) {
			total += n
		}
	}
	s := "… and " + number(total) + " more resources"
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s + ".\n"
}
