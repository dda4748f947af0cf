package render

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// markdownProblems lists the ways md could render on GitHub other than intended: an unclosed code
// fence or <details>, a table row with the wrong number of cells, an unmatched backtick, HTML or an
// @mention outside code. It models the parts of GitHub's markdown (cmark-gfm) the renderer relies on.
func markdownProblems(md string) []string {
	var probs []string
	fenceLen := 0   // length of the open fence, 0 outside a fenced block
	depth := 0      // open <details>
	tableCols := -1 // pipes in the current table's header row, -1 outside a table
	for n, l := range strings.Split(strings.TrimSuffix(md, "\n"), "\n") {
		where := fmt.Sprintf("line %d %q", n+1, clip(l))
		t := strings.TrimLeft(l, " ")
		indented := len(l)-len(t) > 3
		ticks := len(t) - len(strings.TrimLeft(t, "`"))
		if fenceLen > 0 {
			if !indented && ticks >= fenceLen && strings.TrimRight(t[ticks:], " ") == "" {
				fenceLen = 0
			}
			continue
		}
		if !indented && ticks >= 3 && !strings.Contains(t[ticks:], "`") {
			fenceLen, tableCols = ticks, -1
			continue
		}
		if !indented && (strings.HasPrefix(t, "~~~") || (ticks >= 3)) {
			probs = append(probs, where+": stray fence")
		}
		switch {
		case strings.HasPrefix(l, "<details>"):
			depth++
		case l == "</details>":
			depth--
			if depth < 0 {
				probs = append(probs, where+": </details> without <details>")
			}
		}
		if strings.HasPrefix(l, "|") {
			// cmark-gfm never splits a cell at a pipe preceded by a backslash.
			pipes := strings.Count(l, "|") - strings.Count(l, `\|`)
			if tableCols < 0 {
				tableCols = pipes
			} else if pipes != tableCols {
				probs = append(probs, fmt.Sprintf("%s: %d cell separators, header has %d", where, pipes, tableCols))
			}
		} else {
			tableCols = -1
		}
		text, ok := stripCodeSpans(l)
		if !ok {
			probs = append(probs, where+": unmatched backtick")
		}
		// The renderer's own HTML: whole-line <details> wrappers, the footer's <sub>, autolinks.
		switch {
		case text == "</details>":
			text = ""
		case strings.HasPrefix(text, "<details><summary>") && strings.HasSuffix(text, "</summary>"):
			text = strings.TrimSuffix(strings.TrimPrefix(text, "<details><summary>"), "</summary>")
		case strings.HasPrefix(text, "<sub>") && strings.HasSuffix(text, "</sub>"):
			text = strings.TrimSuffix(strings.TrimPrefix(text, "<sub>"), "</sub>")
		}
		text = autolinkRe.ReplaceAllString(text, "")
		if strings.Contains(text, "<") {
			probs = append(probs, where+": HTML outside code")
		}
		if strings.Contains(text, "@") {
			probs = append(probs, where+": @ outside code")
		}
	}
	if fenceLen > 0 {
		probs = append(probs, "code fence left open")
	}
	if depth != 0 {
		probs = append(probs, fmt.Sprintf("%d <details> left open", depth))
	}
	return probs
}

// stripCodeSpans removes the code spans from one line, CommonMark style: a backtick run opens a span
// closed by the next run of the same length. It reports false when a run is left unmatched.
func stripCodeSpans(l string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(l); {
		if l[i] != '`' {
			b.WriteByte(l[i])
			i++
			continue
		}
		n := runAt(l, i)
		end := -1
		for j := i + n; j < len(l); {
			if l[j] != '`' {
				j++
				continue
			}
			m := runAt(l, j)
			if m == n {
				end = j + m
				break
			}
			j += m
		}
		if end < 0 {
			return b.String(), false
		}
		i = end
	}
	return b.String(), true
}

var autolinkRe = regexp.MustCompile(`<https?://[^<>\x00-\x20]*>`)

func runAt(s string, i int) int {
	n := 0
	for i+n < len(s) && s[i+n] == '`' {
		n++
	}
	return n
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestMarkdownProblems(t *testing.T) {
	t.Parallel()
	for name, md := range map[string]string{
		"open fence":            "```diff\n+ a\n",
		"short closing fence":   "````\nx\n```\n",
		"open details":          "<details><summary>x</summary>\n\ny\n",
		"extra details close":   "x\n</details>\n",
		"pipe splits a cell":    "| a | b |\n|---|---|\n| `x|y` | z |\n",
		"unmatched backtick":    "| a |\n|---|\n| `x |\n",
		"html outside code":     "name <script>\n",
		"mention outside code":  "hi @octocat\n",
		"details inside a cell": "| a |\n|---|\n| </details> |\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if len(markdownProblems(md)) == 0 {
				t.Errorf("no problem found in %q", md)
			}
		})
	}
	t.Run("well-formed markdown passes", func(t *testing.T) {
		t.Parallel()
		md := "**x**: `a|b`\n\n| a | b |\n|---|---|\n| `x\\|y` | ``a`b`` |\n\n<details><summary>s</summary>\n\n````diff\n```\n@@ x @@\n````\n\n</details>\n"
		if p := markdownProblems(md); len(p) > 0 {
			t.Errorf("problems in well-formed markdown: %v", p)
		}
	})
}
