package render

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/stagecoach/stagecoach/internal/engine"
)

// doc is one result rendered piece by piece, ready to be cut down to a budget.
type doc struct {
	r      engine.Result
	z      sanitizer
	lay    layout
	limit  int
	head   string   // headline; never trimmed
	errs   string   // errors section, within its share of the budget; never dropped
	errsN  int      // errors shown in errs
	rows   []string // changes table rows, in engine order
	order  []int    // row indexes in the order they are kept when trimming: destructive first
	outs   []string // outputs table rows, by name
	hunks  []hunk   // property diffs, in engine order
	fence  string   // fence around the property diffs, longer than any backtick run in them
	steps  string   // next steps section
	footer string   // small print
	logRef string   // where the trimmed note says the full log is
}

// hunk is the property diff of one change, measured but not kept: it is rendered again if shown.
type hunk struct {
	change int // index in Result.Changes
	size   int // rendered length; more than limit when it can never be shown
}

// selection is what a rendering shows.
type selection struct {
	rows    []bool // rows shown, by index
	rowsN   int
	outsN   int    // outputs shown: the first outsN
	hunks   []bool // hunks shown, by index
	hunksN  int
	trimmed bool // whether the trimmed note is shown
	worst   bool // a stand-in for sizing the longest note and frames, never rendered
}

func newDoc(r engine.Result, o Options, lay layout, limit int) *doc {
	// A secret output the engine forgot to mask is masked here, and wherever else its value appears.
	secrets := slices.Clone(o.Secrets)
	for _, out := range r.Outputs {
		if out.Secret && out.Value != masked {
			secrets = append(secrets, out.Value)
		}
	}
	z := newSanitizer(secrets)
	d := &doc{r: r, z: z, lay: lay, limit: limit}
	url := z.link(o.LogURL)
	d.logRef = z.logRef(url, r.LogID)
	if lay == layoutCheckText {
		d.measureHunks()
		return d
	}

	title := z.oneLine(o.Title)
	if title == "" || len(title) > maxTitle {
		title = kindLabel(r.Kind) + " of " + code(z.line(r.Stack, maxName), false)
	}
	d.head = headline(r, title) + "\n"
	if !r.Succeeded || len(r.Errors) > 0 {
		d.errs, d.errsN = z.errorsSection(r, limit/4)
	}
	d.rows = make([]string, len(r.Changes))
	d.order = make([]int, len(r.Changes))
	for i, c := range r.Changes {
		d.rows[i] = z.row(c)
		d.order[i] = i
	}
	slices.SortStableFunc(d.order, func(a, b int) int {
		return cmp.Compare(priority(r.Changes[a].Op), priority(r.Changes[b].Op))
	})
	d.outs = z.outputRows(r.Outputs)
	if lay == layoutComment {
		d.measureHunks()
	}
	d.steps = z.nextSteps(o.NextSteps)
	d.footer = z.footer(r, url)
	return d
}

// measureHunks records the size of each change's property diff and the fence that fits them all.
func (d *doc) measureHunks() {
	var buf []byte
	run := 0
	for i, c := range d.r.Changes {
		if len(c.Diffs) == 0 {
			continue
		}
		buf = d.z.appendHunk(buf[:0], c, d.limit)
		d.hunks = append(d.hunks, hunk{change: i, size: len(buf)})
		run = max(run, longestRun(buf, '`'))
	}
	d.fence = strings.Repeat("`", max(3, run+1))
}

// errorsTrimmed reports whether some errors were left out.
func (d *doc) errorsTrimmed() bool { return d.errs != "" && d.errsN < len(d.r.Errors) }

// fit renders the document within its limit.
func (d *doc) fit() string {
	all := d.selectAll()
	if !all.trimmed && d.size(all) <= d.limit {
		return d.assemble(all)
	}
	sel := d.plan()
	if out := d.assemble(sel); len(out) <= d.limit {
		return out
	}
	// Unreachable unless the sizes above are wrong: fall back to the parts that are never trimmed.
	out := d.assemble(d.selectNone())
	if len(out) > d.limit {
		out = cut(out, d.limit)
	}
	return out
}

func (d *doc) selectAll() selection {
	s := selection{rows: make([]bool, len(d.rows)), rowsN: len(d.rows), outsN: len(d.outs),
		hunks: make([]bool, len(d.hunks)), hunksN: len(d.hunks), trimmed: d.errorsTrimmed()}
	for i := range s.rows {
		s.rows[i] = true
	}
	for i := range s.hunks {
		s.hunks[i] = true
	}
	return s
}

func (d *doc) selectNone() selection {
	return selection{rows: make([]bool, len(d.rows)), hunks: make([]bool, len(d.hunks)), trimmed: true}
}

// plan chooses what to show within the limit, with the trimmed note. The property diffs get what the
// tables leave; when the tables do not fit, the diffs go, the outputs keep at least a quarter of the
// room they need, and the changes table keeps its destructive rows first.
func (d *doc) plan() selection {
	sel := d.selectNone()
	// Sections are joined by one newline, so each costs its length plus one, less one overall.
	avail := d.limit + 1 - d.fixedCost() - (len(d.note(d.worstNote())) + 1)

	all := d.selectAll()
	tables := d.tableCost(all) + d.outputsCost(all.outsN)
	if tables <= avail {
		sel.rows, sel.rowsN, sel.outsN = all.rows, all.rowsN, all.outsN
		d.chooseHunks(&sel, avail-tables)
		return sel
	}
	outBudget := min(d.outputsCost(len(d.outs)), max(avail/4, avail-d.tableCost(all)))
	for sel.outsN < len(d.outs) && d.outputsCost(sel.outsN+1) <= outBudget {
		sel.outsN++
	}
	d.chooseRows(&sel, avail-d.outputsCost(sel.outsN))
	return sel
}

// chooseRows keeps table rows in priority order while they fit in budget.
func (d *doc) chooseRows(sel *selection, budget int) {
	all := d.selectAll()
	if d.tableCost(all) <= budget {
		sel.rows, sel.rowsN = all.rows, all.rowsN
		return
	}
	used := len(tableHeader) + 1 + len(moreResources(d.r.Kind, d.opCounts(all.rows, true))) + 1
	for _, i := range d.order {
		if used+len(d.rows[i]) > budget {
			break
		}
		used += len(d.rows[i])
		sel.rows[i] = true
		sel.rowsN++
	}
}

// chooseHunks keeps the smallest property diffs that fit in budget, which is dropping the largest first.
func (d *doc) chooseHunks(sel *selection, budget int) {
	bySize := make([]int, len(d.hunks))
	for i := range bySize {
		bySize[i] = i
	}
	slices.SortStableFunc(bySize, func(a, b int) int { return cmp.Compare(d.hunks[a].size, d.hunks[b].size) })
	used := d.diffsCost(selection{hunksN: len(d.hunks), worst: true}, 0)
	for _, i := range bySize {
		if used+d.hunks[i].size > budget {
			break
		}
		used += d.hunks[i].size
		sel.hunks[i] = true
		sel.hunksN++
	}
}

// opCounts counts the operations of the rows whose shown flag equals want.
func (d *doc) opCounts(shown []bool, want bool) map[engine.Op]int {
	n := map[engine.Op]int{}
	for i, s := range shown {
		if s == want {
			n[d.r.Changes[i].Op]++
		}
	}
	return n
}

// fixedCost is the room taken by the sections that are never trimmed, each plus its separator.
func (d *doc) fixedCost() int {
	n := 0
	for _, s := range []string{d.head, d.errs, d.steps, d.footer} {
		if s != "" {
			n += len(s) + 1
		}
	}
	return n
}

// size is the length of assemble(sel).
func (d *doc) size(sel selection) int {
	n := d.fixedCost() + d.tableCost(sel) + d.outputsCost(sel.outsN) + d.diffsCost(sel, d.hunkBytes(sel))
	if sel.trimmed {
		n += len(d.note(sel)) + 1
	}
	return max(n-1, 0)
}

// tableCost is the room the changes table takes with its separator, 0 when it shows no row.
func (d *doc) tableCost(sel selection) int {
	if d.lay == layoutCheckText || sel.rowsN == 0 {
		return 0
	}
	n := len(tableHeader) + 1
	for i, shown := range sel.rows {
		if shown {
			n += len(d.rows[i])
		}
	}
	if sel.rowsN < len(d.rows) {
		n += 1 + len(moreResources(d.r.Kind, d.opCounts(sel.rows, false)))
	}
	return n
}

// outputsCost is the room the outputs table takes with its first n rows and its separator.
func (d *doc) outputsCost(n int) int {
	if d.lay == layoutCheckText || n == 0 {
		return 0
	}
	c := len(outputsHeader) + 1
	for _, r := range d.outs[:n] {
		c += len(r)
	}
	if n < len(d.outs) {
		c += 1 + len(moreLine(len(d.outs)-n, "outputs"))
	}
	return c
}

// hunkBytes is the total size of the hunks sel shows.
func (d *doc) hunkBytes(sel selection) int {
	n := 0
	for i, shown := range sel.hunks {
		if shown {
			n += d.hunks[i].size
		}
	}
	return n
}

// diffsCost is the room the property diffs section takes with its separator, given the size of its hunks.
func (d *doc) diffsCost(sel selection, hunkBytes int) int {
	if sel.hunksN == 0 || d.lay == layoutCheckSummary {
		return 0
	}
	return len(d.diffsOpen(sel)) + len(d.fence) + len("diff\n") + hunkBytes + len(d.fence) + len(d.diffsClose()) + 1
}

// diffsOpen is what comes before the diff fence.
func (d *doc) diffsOpen(sel selection) string {
	what := number(len(d.hunks)) + " resources"
	if len(d.hunks) == 1 {
		what = "1 resource"
	}
	if sel.hunksN < len(d.hunks) || sel.worst {
		what = number(sel.hunksN) + " of " + what
	}
	if d.lay == layoutCheckText {
		return "**Property changes** (" + what + ")\n\n"
	}
	return "<details><summary>Property changes (" + what + ")</summary>\n\n"
}

// diffsClose is what comes after the diff fence.
func (d *doc) diffsClose() string {
	if d.lay == layoutCheckText {
		return "\n"
	}
	return "\n\n</details>\n"
}

// worstNote is the selection whose trimmed note is the longest any plan can produce.
func (d *doc) worstNote() selection {
	return selection{rowsN: len(d.rows), outsN: len(d.outs), hunksN: len(d.hunks), trimmed: true, worst: true,
		rows: make([]bool, len(d.rows)), hunks: make([]bool, len(d.hunks))}
}

// note says what sel leaves out and where the full log is. For sel.worst, every part is included
// with the largest counts, which makes the longest note any plan can produce.
func (d *doc) note(sel selection) string {
	worst := sel.worst
	var parts []string
	if d.lay != layoutCheckText && len(d.rows) > 0 && (worst || sel.rowsN < len(d.rows)) {
		parts = append(parts, number(sel.rowsN)+" of "+number(len(d.rows))+" resources shown")
	}
	if d.lay != layoutCheckSummary && len(d.hunks) > 0 && (worst || sel.hunksN < len(d.hunks)) {
		if sel.hunksN == 0 && !worst {
			parts = append(parts, "property changes omitted")
		} else {
			parts = append(parts, "property changes shown for "+number(sel.hunksN)+" of "+number(len(d.hunks))+" resources")
		}
	}
	if d.lay != layoutCheckText && len(d.outs) > 0 && (worst || sel.outsN < len(d.outs)) {
		parts = append(parts, number(sel.outsN)+" of "+number(len(d.outs))+" outputs shown")
	}
	if d.lay != layoutCheckText && d.errorsTrimmed() {
		parts = append(parts, number(d.errsN)+" of "+number(len(d.r.Errors))+" errors shown")
	}
	parts = append(parts, "the full log is "+d.logRef)
	return "> **Output trimmed**: " + strings.Join(parts, "; ") + ".\n"
}

// assemble renders sel.
func (d *doc) assemble(sel selection) string {
	var sections []string
	add := func(s string) {
		if s != "" {
			sections = append(sections, s)
		}
	}
	add(d.head)
	add(d.errs)
	if sel.trimmed {
		add(d.note(sel))
	}
	if d.lay != layoutCheckText && sel.rowsN > 0 {
		var b strings.Builder
		b.WriteString(tableHeader)
		for i, shown := range sel.rows {
			if shown {
				b.WriteString(d.rows[i])
			}
		}
		if sel.rowsN < len(d.rows) {
			b.WriteString("\n" + moreResources(d.r.Kind, d.opCounts(sel.rows, false)))
		}
		add(b.String())
	}
	if d.lay != layoutCheckSummary && sel.hunksN > 0 {
		buf := []byte(d.diffsOpen(sel) + d.fence + "diff\n")
		for i, shown := range sel.hunks {
			if shown {
				buf = d.z.appendHunk(buf, d.r.Changes[d.hunks[i].change], d.limit)
			}
		}
		add(string(buf) + d.fence + d.diffsClose())
	}
	if d.lay != layoutCheckText && sel.outsN > 0 {
		s := outputsHeader + strings.Join(d.outs[:sel.outsN], "")
		if sel.outsN < len(d.outs) {
			s += "\n" + moreLine(len(d.outs)-sel.outsN, "outputs")
		}
		add(s)
	}
	add(d.steps)
	add(d.footer)
	return strings.Join(sections, "\n")
}

// cut shortens s to at most n bytes at a rune boundary.
func cut(s string, n int) string {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:min(n, len(s))]
}
