package render

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/testenv/golden"
)

const logURL = "https://stagecoach.example.com/logs/op-7f3a"

func assertWellFormed(t *testing.T, md string) {
	t.Helper()
	if p := markdownProblems(md); len(p) > 0 {
		t.Errorf("markdown problems:\n%s\nin:\n%s", strings.Join(p, "\n"), md)
	}
}

// mixedPreview is a preview that creates, updates, replaces and deletes.
func mixedPreview() engine.Result {
	return engine.Result{
		Kind:  engine.KindPreview,
		Stack: "acme/web/pr-42",
		Counts: map[engine.Op]int{engine.OpCreate: 1, engine.OpUpdate: 1, engine.OpReplace: 1,
			engine.OpDelete: 1, engine.OpSame: 5},
		Changes: []engine.ResourceChange{
			{URN: "urn:pulumi:pr-42::web::aws:s3/bucket:Bucket::assets", Type: "aws:s3/bucket:Bucket", Name: "assets", Op: engine.OpCreate},
			{URN: "urn:pulumi:pr-42::web::aws:ec2/securityGroup:SecurityGroup::web-sg", Type: "aws:ec2/securityGroup:SecurityGroup",
				Name: "web-sg", Op: engine.OpUpdate, Diffs: []engine.PropertyDiff{
					{Path: "ingress[0].cidrBlocks[0]", Kind: "update", Old: "10.0.0.0/8", New: "0.0.0.0/0"},
					{Path: "tags.owner", Kind: "add", New: "team-web"},
					{Path: "tags.legacy", Kind: "delete", Old: "true"},
				}},
			{URN: "urn:pulumi:pr-42::web::aws:ec2/instance:Instance::web", Type: "aws:ec2/instance:Instance",
				Name: "web", Op: engine.OpReplace, Diffs: []engine.PropertyDiff{
					{Path: "ami", Kind: "update-replace", Old: "ami-0a1b2c", New: "ami-0d4e5f"},
					{Path: "userData", Kind: "update", Old: "#!/bin/sh\necho v1", New: "#!/bin/sh\necho v2"},
				}},
			{URN: "urn:pulumi:pr-42::web::aws:sqs/queue:Queue::jobs", Type: "aws:sqs/queue:Queue", Name: "jobs", Op: engine.OpDelete},
		},
		Duration:  14200 * time.Millisecond,
		Succeeded: true,
	}
}

// failedUpdate is an update that stopped on errors.
func failedUpdate() engine.Result {
	return engine.Result{
		Kind:   engine.KindUp,
		Stack:  "acme/web/staging",
		Counts: map[engine.Op]int{engine.OpCreate: 1, engine.OpSame: 12},
		Changes: []engine.ResourceChange{
			{Type: "aws:rds/instance:Instance", Name: "db", Op: engine.OpCreate},
		},
		Errors: []string{
			"\x1b[31merror:\x1b[0m creating RDS DB Instance (db): InvalidParameterCombination: " +
				"RDS does not support creating a DB instance with the following combination: " +
				"DBInstanceClass=db.t2.micro, Engine=postgres, EngineVersion=16.3\r\n\tstatus code: 400",
			"update failed",
		},
		Duration:  2*time.Minute + 3*time.Second,
		Succeeded: false,
		LogID:     "op-7f3a",
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		r      engine.Result
		o      Options
		absent string // must appear nowhere in the output
	}{
		{name: "no changes", r: engine.Result{Kind: engine.KindPreview, Stack: "acme/web/pr-42",
			Counts: map[engine.Op]int{engine.OpSame: 9}, Duration: 3 * time.Second, Succeeded: true},
			o: Options{LogURL: logURL}},
		{name: "creates only", r: engine.Result{Kind: engine.KindUp, Stack: "acme/web/pr-7",
			Counts: map[engine.Op]int{engine.OpCreate: 2},
			Changes: []engine.ResourceChange{
				{Type: "aws:s3/bucket:Bucket", Name: "assets", Op: engine.OpCreate},
				{Type: "aws:cloudfront/distribution:Distribution", Name: "cdn", Op: engine.OpCreate},
			},
			Outputs:  map[string]engine.Output{"url": {Value: "https://pr-7.preview.example.com"}, "bucket": {Value: "assets-4f1e"}},
			Duration: 95 * time.Second, Succeeded: true},
			o: Options{Title: "Deployed `pr-7` at abc1234", LogURL: logURL}},
		{name: "mix with replace and property diffs", r: mixedPreview(),
			o: Options{Title: "Preview of `pr-42` at abc1234", LogURL: logURL,
				NextSteps: []string{"Comment `/stagecoach up` to deploy this preview.", "Push a commit to preview again."}}},
		{name: "failed operation with errors", r: failedUpdate(), o: Options{}},
		{name: "failed operation without a message", r: engine.Result{Kind: engine.KindDestroy, Stack: "acme/web/pr-3",
			Counts: map[engine.Op]int{}, Succeeded: false}, o: Options{}},
		{name: "outputs with a secret", r: engine.Result{Kind: engine.KindUp, Stack: "acme/web/dev",
			Counts: map[engine.Op]int{engine.OpSame: 4},
			Outputs: map[string]engine.Output{"dbPassword": {Value: "hunter2-db-password", Secret: true},
				"endpoint": {Value: `{"host":"db.internal","port":5432,"password":"hunter2-db-password"}`}},
			Succeeded: true}, o: Options{LogURL: logURL}, absent: "hunter2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Markdown(tt.r, tt.o)
			assertWellFormed(t, got)
			if tt.absent != "" && strings.Contains(got, tt.absent) {
				t.Errorf("output shows %q", tt.absent)
			}
			golden.Assert(t, filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "-")+".md"), got)
		})
	}
}

func TestMarkdownNeverShowsSecrets(t *testing.T) {
	t.Parallel()
	const token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
	const password = "correct-horse-battery-staple"
	r := mixedPreview()
	r.Stack = "acme/web/" + token
	r.Changes[1].Name = "sg-" + token
	r.Changes[1].Diffs[0].New = "Bearer " + token
	r.Changes[2].Diffs[1].Path = "env." + token
	r.Changes[3].Name = "abc-cache"
	r.Outputs = map[string]engine.Output{
		"dbPassword":     {Value: password, Secret: true}, // the flag wins even if the engine forgot to mask
		"url":            {Value: "https://x:" + token + "@example.com"},
		"token-" + token: {Value: "t"},
	}
	r.Errors = []string{"auth failed for " + token + "\nretry with " + password}
	r.Succeeded = false
	r.LogID = token
	o := Options{Secrets: []string{token, "abc"}, NextSteps: []string{"Rotate " + token}, LogURL: logURL + "?t=" + token}
	_, summary, text := CheckOutput(r, o)
	for name, md := range map[string]string{"comment": Markdown(r, o), "check summary": summary, "check text": text} {
		for _, secret := range []string{token, password} {
			if strings.Contains(md, secret) {
				t.Errorf("%s shows the secret %q:\n%s", name, secret, md)
			}
		}
		assertWellFormed(t, md)
	}
	if !strings.Contains(Markdown(r, o), "abc") {
		t.Errorf("a secret shorter than MinSecretLen was redacted")
	}
}

func TestMarkdownNeutralisesHostileText(t *testing.T) {
	t.Parallel()
	r := engine.Result{
		Kind:   engine.KindPreview,
		Stack:  "acme/`web`/pr-1 @octocat",
		Counts: map[engine.Op]int{engine.OpUpdate: 3, engine.OpCreate: 1},
		Changes: []engine.ResourceChange{
			{Type: "x:y|z:T", Name: "a|b\\|c", Op: engine.OpUpdate, Diffs: []engine.PropertyDiff{
				{Path: "tags.`ping`", Kind: "update", Old: "@octocat", New: "</details>\n```\n# heading\n@here"},
				{Path: "", Kind: "add", New: ""},
			}},
			{Type: "x:y:T", Name: "</details><script>alert(1)</script>", Op: engine.OpUpdate, Diffs: []engine.PropertyDiff{
				{Path: "a\u202eb", Kind: "weird", Old: "\x00\x07", New: "\xff\xfe"},
			}},
			{Type: "x:y:T", Name: "`tick` and ``two``", Op: engine.OpUpdate},
			{Type: "x:y:T", Name: "line1\nline2\r\n| --- |", Op: engine.OpCreate},
			{Type: "x:y:T", Name: "odd op", Op: engine.Op("<b>boom</b>")},
		},
		Outputs: map[string]engine.Output{
			"@octocat": {Value: "[click](javascript:alert(1)) <img src=x> ` |"},
			"`":        {Value: " "},
		},
		Errors:    []string{"error: ```\n</details>\n@octocat"},
		Succeeded: false,
	}
	got := Markdown(r, Options{LogURL: "https://example.com/log?a=<b>&c=d e"})
	assertWellFormed(t, got)
	golden.Assert(t, filepath.Join("testdata", "hostile-names-and-values.md"), got)

	_, summary, text := CheckOutput(r, Options{})
	assertWellFormed(t, summary)
	assertWellFormed(t, text)
}

// bigPreview is a preview of n changed resources, every tenth a delete placed at the end, each with
// diffs properties of about valueLen-byte values.
func bigPreview(n, diffs, valueLen int) engine.Result {
	r := engine.Result{Kind: engine.KindPreview, Stack: "acme/platform/pr-1234",
		Counts: map[engine.Op]int{engine.OpSame: 17}, Succeeded: true, Duration: 5 * time.Minute}
	for i := range n {
		op := []engine.Op{engine.OpCreate, engine.OpUpdate, engine.OpReplace}[i%3]
		if i >= n-n/10 {
			op = engine.OpDelete
		}
		c := engine.ResourceChange{Type: "aws:ec2/instance:Instance", Name: fmt.Sprintf("node-%05d", i), Op: op}
		if op == engine.OpUpdate || op == engine.OpReplace {
			for j := range diffs {
				c.Diffs = append(c.Diffs, engine.PropertyDiff{Path: fmt.Sprintf("tags.k%d", j), Kind: "update",
					Old: strings.Repeat("o", valueLen+i%7), New: strings.Repeat("n", valueLen)})
			}
		}
		r.Changes = append(r.Changes, c)
		r.Counts[op]++
	}
	return r
}

// commas formats n with thousands separators, independently of the code under test.
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

var shownRe = regexp.MustCompile(`Output trimmed\*\*: ([\d,]+) of ([\d,]+) resources shown`)

func TestMarkdownFitsLimit(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 30, 300, 3000, 6000} {
		for _, limit := range []int{MinLimit, 20000, DefaultLimit, CommentLimit} {
			t.Run(fmt.Sprintf("%d resources in %d bytes", n, limit), func(t *testing.T) {
				t.Parallel()
				r := bigPreview(n, 20, 120)
				got := Markdown(r, Options{Limit: limit, LogURL: logURL, NextSteps: []string{"Comment `/stagecoach up` to deploy."}})
				if len(got) > limit {
					t.Fatalf("rendered %d bytes, limit %d", len(got), limit)
				}
				assertWellFormed(t, got)
				first, _, _ := strings.Cut(got, "\n")
				wantCounts := fmt.Sprintf("%s to create, %s to update, %s to replace, %s to delete, 17 unchanged",
					commas(r.Counts[engine.OpCreate]), commas(r.Counts[engine.OpUpdate]), commas(r.Counts[engine.OpReplace]), commas(r.Counts[engine.OpDelete]))
				if n == 0 {
					wantCounts = "No changes (17 unchanged)"
				}
				if first != "**Preview of `acme/platform/pr-1234`**: "+wantCounts {
					t.Errorf("headline is %q, want the counts %q", first, wantCounts)
				}
				rows := strings.Count(got, "| `node-")
				trimmed := strings.Contains(got, "Output trimmed")
				// Each update or replace carries 20 diffs of two lines over 240 bytes: past 300 resources
				// the full rendering is megabytes, so only the small ones are worth rendering in full.
				if n <= 300 {
					full := Markdown(r, Options{Limit: 1 << 30, LogURL: logURL, NextSteps: []string{"Comment `/stagecoach up` to deploy."}})
					if len(full) <= limit {
						if got != full {
							t.Errorf("output that fits was changed")
						}
						return
					}
				}
				if !trimmed || !strings.Contains(got, "the full log is at <"+logURL+">") {
					t.Errorf("trimmed output does not say so with the log link")
				}
				if m := shownRe.FindStringSubmatch(got); m != nil {
					if m[1] != commas(rows) || m[2] != commas(n) {
						t.Errorf("note says %s of %s resources shown; the table shows %d of %d", m[1], m[2], rows, n)
					}
					if strings.Contains(got, "<details>") {
						t.Errorf("table trimmed while property diffs are still shown")
					}
					hidden := n - rows
					if !strings.Contains(got, "… and "+commas(hidden)+" more resources") {
						t.Errorf("no line counting the %d resources left out of the table", hidden)
					}
					if deletes := strings.Count(got, "| - | `node-"); deletes != min(rows, r.Counts[engine.OpDelete]) {
						t.Errorf("table shows %d deletes among %d rows; destructive rows go first", deletes, rows)
					}
				} else if rows != n {
					t.Errorf("table shows %d of %d resources but the note does not say so", rows, n)
				}
			})
		}
	}
}

func TestMarkdownDropsLargestDiffsFirst(t *testing.T) {
	t.Parallel()
	r := bigPreview(40, 5, 50)
	r.Changes[1].Diffs[0].New = strings.Repeat("big", 300) // node-00001 gets the largest diff
	got := Markdown(r, Options{Limit: MinLimit + 4000, LogURL: logURL})
	if len(got) > MinLimit+4000 {
		t.Fatalf("rendered %d bytes", len(got))
	}
	if !strings.Contains(got, "property changes shown for ") {
		t.Fatalf("expected only some property diffs to be kept:\n%s", got)
	}
	if strings.Contains(got, "@@ update node-00001 ") {
		t.Errorf("the largest diff was kept while smaller ones were dropped")
	}
	// Diff sizes grow with i%7 (see bigPreview): every shown diff must be no larger than every dropped one.
	shown := map[int]bool{}
	for _, m := range regexp.MustCompile(`@@ \w+ node-(\d+) `).FindAllStringSubmatch(got, -1) {
		i, _ := strconv.Atoi(m[1])
		shown[i] = true
	}
	largestShown, smallestDropped := -1, 7
	for i, c := range r.Changes {
		if len(c.Diffs) == 0 || i == 1 {
			continue
		}
		if shown[i] {
			largestShown = max(largestShown, i%7)
		} else {
			smallestDropped = min(smallestDropped, i%7)
		}
	}
	if len(shown) == 0 || largestShown > smallestDropped {
		t.Errorf("shown diffs (%v) include one larger than a dropped one", shown)
	}
	if strings.Count(got, "| `node-") != 40 {
		t.Errorf("table rows were dropped before the property diffs")
	}
	assertWellFormed(t, got)
}

func TestMarkdownTrimmedGolden(t *testing.T) {
	t.Parallel()
	got := Markdown(bigPreview(120, 3, 40), Options{Limit: MinLimit, LogURL: logURL})
	if len(got) > MinLimit {
		t.Fatalf("rendered %d bytes, limit %d", len(got), MinLimit)
	}
	assertWellFormed(t, got)
	golden.Assert(t, filepath.Join("testdata", "trimmed.md"), got)
}

func TestMarkdownKeepsErrorsWhenTrimming(t *testing.T) {
	t.Parallel()
	r := bigPreview(3000, 10, 100)
	r.Succeeded = false
	for i := range 500 {
		r.Errors = append(r.Errors, fmt.Sprintf("error %d: %s", i, strings.Repeat("x", 300)))
	}
	got := Markdown(r, Options{LogURL: logURL})
	if len(got) > DefaultLimit {
		t.Fatalf("rendered %d bytes", len(got))
	}
	assertWellFormed(t, got)
	if !strings.Contains(got, "error 0: xxx") {
		t.Errorf("first error missing")
	}
	if !regexp.MustCompile(`[\d,]+ of 500 errors shown`).MatchString(got) {
		t.Errorf("trimmed errors not reported in the note")
	}
	if strings.Index(got, "**Errors**") > strings.Index(got, "| | Resource |") {
		t.Errorf("errors do not come first")
	}
}

func TestCheckOutput(t *testing.T) {
	t.Parallel()
	title, summary, text := CheckOutput(mixedPreview(), Options{LogURL: logURL})
	if title != Summary(mixedPreview()) {
		t.Errorf("title %q, want the summary %q", title, Summary(mixedPreview()))
	}
	assertWellFormed(t, summary)
	assertWellFormed(t, text)
	golden.Assert(t, filepath.Join("testdata", "check-summary.md"), summary)
	golden.Assert(t, filepath.Join("testdata", "check-text.md"), text)

	t.Run("no property diffs means no text", func(t *testing.T) {
		t.Parallel()
		if _, _, text := CheckOutput(failedUpdate(), Options{}); text != "" {
			t.Errorf("text = %q, want empty", text)
		}
	})
	t.Run("huge results fit GitHub's limits", func(t *testing.T) {
		t.Parallel()
		_, summary, text := CheckOutput(bigPreview(6000, 20, 200), Options{Limit: 1 << 20, LogURL: logURL})
		for name, s := range map[string]string{"summary": summary, "text": text} {
			if len(s) > CheckLimit {
				t.Errorf("%s is %d bytes, over %d", name, len(s), CheckLimit)
			}
			if !strings.Contains(s, "Output trimmed") {
				t.Errorf("%s trimmed without a note", name)
			}
			assertWellFormed(t, s)
		}
	})
}

func TestSummary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    engine.Result
		want string
	}{
		{"preview with changes", mixedPreview(), "Preview: 1 to create, 1 to update, 1 to replace, 1 to delete, 5 unchanged"},
		{"update with no changes", engine.Result{Kind: engine.KindUp, Succeeded: true, Counts: map[engine.Op]int{engine.OpSame: 3}}, "Update: no changes"},
		{"failed update with changes", failedUpdate(), "Update failed: 1 created, 12 unchanged"},
		{"failed destroy without changes", engine.Result{Kind: engine.KindDestroy}, "Destroy failed"},
		{"a done update uses the past tense", engine.Result{Kind: engine.KindUp, Succeeded: true,
			Counts: map[engine.Op]int{engine.OpUpdate: 1234, engine.OpDelete: 2}}, "Update: 1,234 updated, 2 deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Summary(tt.r); got != tt.want {
				t.Errorf("Summary = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		850 * time.Millisecond:                "850ms",
		12340 * time.Millisecond:              "12.3s",
		62 * time.Second:                      "1m2s",
		5 * time.Minute:                       "5m",
		10*time.Minute + 200*time.Millisecond: "10m",
		time.Hour + 10*time.Minute:            "1h10m",
		time.Hour + 5*time.Second:             "1h0m5s",
		2 * time.Hour:                         "2h",
	} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func BenchmarkMarkdown(b *testing.B) {
	r := bigPreview(5000, 20, 120)
	o := Options{LogURL: logURL}
	b.ReportAllocs()
	for b.Loop() {
		if len(Markdown(r, o)) > DefaultLimit {
			b.Fatal("over the limit")
		}
	}
}

func TestMarkdownFitsMinLimitWithWorstCaseFixedParts(t *testing.T) {
	t.Parallel()
	ticks := strings.Repeat("`", 5000)
	r := bigPreview(500, 5, 100)
	r.Stack = ticks
	r.Succeeded = false
	r.Errors = []string{ticks, ticks, ticks}
	r.LogID = ticks
	r.Duration = 1000 * time.Hour
	var steps []string
	for range 200 {
		steps = append(steps, "Run `/stagecoach up` to deploy this pull request's preview again.")
	}
	for _, url := range []string{"", "https://stagecoach.example.com/" + strings.Repeat("%60", 160)} {
		o := Options{Limit: MinLimit, LogURL: url, NextSteps: steps}
		for _, lay := range []layout{layoutComment, layoutCheckSummary, layoutCheckText} {
			d := newDoc(r, o, lay, MinLimit)
			if got := d.assemble(d.plan()); len(got) > MinLimit {
				t.Errorf("layout %d with log URL %q: the parts never trimmed take %d bytes, over MinLimit %d", lay, url, len(got), MinLimit)
			}
		}
		got := Markdown(r, o)
		assertWellFormed(t, got)
		if !strings.Contains(got, "**Errors**") || !strings.Contains(got, "Output trimmed") {
			t.Errorf("errors or trimmed note missing:\n%s", got)
		}
	}
}
