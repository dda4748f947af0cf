package render

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stagecoach/stagecoach/internal/engine"
)

// FuzzMarkdown renders results made of arbitrary names, values and errors, and checks that every
// rendering fits its limit, is well-formed markdown, keeps its headline, never shows the secret, and
// that the planner's size arithmetic matches what it assembles.
func FuzzMarkdown(f *testing.F) {
	f.Add("web", "aws:s3/bucket:Bucket", "tags.env", "dev", "prod", "url", "https://x", "error: boom", uint16(3), uint16(0), "tok")
	f.Add("a|b`c</details>@x\n", "x:y|z", "p`a`th", "```", "</details>\r\n@here", "@octocat", "<img src=x>", "```\n</details>", uint16(40), uint16(7), "zz")
	f.Add("\x1b[31mred\u202e", "\xff\xfe", "", "", "", "", "", "", uint16(1), uint16(9000), "")
	f.Add(strings.Repeat("n", 300), strings.Repeat("`", 40), strings.Repeat("|", 50), strings.Repeat("o", 3000), strings.Repeat("é", 900),
		"o", strings.Repeat("v", 500), strings.Repeat("e\n", 3000), uint16(399), uint16(0), "long")
	f.Add("node", "t", "p", strings.Repeat("x", 1000), strings.Repeat("y", 1000), "o", "v", "err", uint16(350), uint16(3), "big")
	f.Fuzz(func(t *testing.T, name, typ, path, old, new, outName, outVal, errMsg string, n, limitSeed uint16, secretSeed string) {
		secret := "SECRET" + strings.Map(func(r rune) rune {
			if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return r
			}
			return -1
		}, secretSeed)
		r := fuzzResult(int(n%400), name+secret, typ, path, old, new+secret, outName, outVal, errMsg, secret)
		limit := MinLimit + int(limitSeed)*3
		o := Options{Limit: limit, Secrets: []string{secret}, LogURL: logURL}

		md := Markdown(r, o)
		_, summary, text := CheckOutput(r, o)
		for _, c := range []struct {
			name  string
			got   string
			limit int
		}{{"comment", md, limit}, {"check summary", summary, min(limit, CheckLimit)}, {"check text", text, min(limit, CheckLimit)}} {
			if len(c.got) > c.limit {
				t.Errorf("%s is %d bytes, limit %d", c.name, len(c.got), c.limit)
			}
			if p := markdownProblems(c.got); len(p) > 0 {
				t.Errorf("%s has markdown problems %v:\n%s", c.name, p, c.got)
			}
			if strings.Contains(c.got, secret) {
				t.Errorf("%s shows the secret %q", c.name, secret)
			}
		}
		want := counts(r)
		switch {
		case !r.Succeeded && r.Changed() == 0:
			want = " failed"
		case r.Changed() == 0:
			want = "No changes (2 unchanged)"
		}
		for name, got := range map[string]string{"comment": md, "check summary": summary} {
			first, _, _ := strings.Cut(got, "\n")
			if !strings.HasPrefix(first, "**Preview of ") || !strings.HasSuffix(first, want) {
				t.Errorf("%s headline %q does not end with %q", name, first, want)
			}
		}

		for _, lay := range []layout{layoutComment, layoutCheckSummary, layoutCheckText} {
			d := newDoc(r, o, lay, limit)
			for _, sel := range []selection{d.selectAll(), d.plan()} {
				if size, got := d.size(sel), len(d.assemble(sel)); size != got {
					t.Errorf("layout %d: size says %d bytes, assemble made %d", lay, size, got)
				}
			}
			if got := d.assemble(d.plan()); len(got) > limit {
				t.Errorf("layout %d: plan made %d bytes, limit %d (fit would fall back)", lay, len(got), limit)
			}
		}
	})
}

func fuzzResult(n int, name, typ, path, old, new, outName, outVal, errMsg, secret string) engine.Result {
	ops := []engine.Op{engine.OpCreate, engine.OpUpdate, engine.OpReplace, engine.OpDelete, "odd"}
	kinds := []string{"add", "update", "delete", "update-replace", "odd"}
	r := engine.Result{Kind: engine.KindPreview, Stack: "acme/" + name, Counts: map[engine.Op]int{engine.OpSame: 2},
		Outputs: map[string]engine.Output{outName: {Value: outVal + secret}, "masked": {Value: secret, Secret: true}},
		LogID:   name, Succeeded: len(errMsg)%2 == 0}
	if !r.Succeeded {
		r.Errors = []string{errMsg, secret + errMsg}
	}
	for i := range n {
		c := engine.ResourceChange{Name: name, Type: typ, Op: ops[i%len(ops)]}
		for j := range i % 4 {
			c.Diffs = append(c.Diffs, engine.PropertyDiff{Path: path, Kind: kinds[(i+j)%len(kinds)], Old: old, New: new})
		}
		r.Changes = append(r.Changes, c)
		r.Counts[c.Op]++
	}
	return r
}
