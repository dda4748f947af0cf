// Package render turns an engine.Result into the markdown shown in pull request comments and check runs:
// a headline with counts, the errors, a table of changed resources, the property diffs in a collapsible
// section, the outputs, the caller's next steps and a footer.
//
// The output always fits the caller's byte budget. When it would not, detail goes first — the property
// diffs of the largest resources, then the tail of the outputs and changes tables — never the headline,
// the counts or the first errors, and a note says what was trimmed and where the full log is.
//
// Untrusted text (names, types, paths, values, errors) only ever appears inside code spans or fenced
// blocks, with control and invisible characters made visible, so it cannot break the markdown, inject
// HTML or ping anyone. Options.Secrets are redacted wherever they appear.
package render

import "github.com/stagecoach/stagecoach/internal/engine"

// Markdown renders r for a pull request comment, within o.Limit bytes (DefaultLimit when zero).
func Markdown(r engine.Result, o Options) string {
	return newDoc(r, o, layoutComment, o.limit(DefaultLimit, 0)).fit()
}

// CheckOutput renders r for a check run: title is Summary(r); summary has the headline, errors, tables,
// next steps and footer; text has the property diffs, open, and is empty when there are none.
// summary and text each fit within o.Limit bytes, capped at GitHub's CheckLimit (the default).
func CheckOutput(r engine.Result, o Options) (title, summary, text string) {
	limit := o.limit(CheckLimit, CheckLimit)
	summary = newDoc(r, o, layoutCheckSummary, limit).fit()
	if d := newDoc(r, o, layoutCheckText, limit); len(d.hunks) > 0 {
		text = d.fit()
	}
	return Summary(r), summary, text
}

// layout chooses which sections a rendering holds.
type layout int

const (
	layoutComment      layout = iota // everything, the property diffs collapsed
	layoutCheckSummary               // everything but the property diffs
	layoutCheckText                  // only the property diffs, open
)
