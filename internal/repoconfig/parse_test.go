package repoconfig

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	_ "time/tzdata" // the binary embeds the zone database; so do the tests
)

// validationLines parses data and returns the error lines, failing the test
// if Parse did not return a *ValidationError.
func validationLines(t *testing.T, data string) []string {
	t.Helper()
	cfg, err := Parse(FileName, []byte(data))
	if err == nil {
		t.Fatalf("Parse succeeded with %+v, want a validation error", cfg)
	}
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Parse error is %T (%v), want *ValidationError", err, err)
	}
	if cfg != nil {
		t.Errorf("Parse returned a config alongside the error")
	}
	return strings.Split(verr.Error(), "\n")
}

func TestParseReportsEachRuleWithFileLineAndField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "unknown top-level key suggests the closest known key",
			yaml: "projet: infra\n",
			want: []string{`.stagecoach.yaml:1:1: projet: unknown key (did you mean "project"?)`},
		},
		{
			name: "unknown nested key suggests the closest known key",
			yaml: "environments:\n  - name: dev\n    sok: 1h\n",
			want: []string{`.stagecoach.yaml:3:5: environments[0].sok: unknown key (did you mean "soak"?)`},
		},
		{
			name: "unknown key far from any known key gets no suggestion",
			yaml: "ephemeral:\n  colour: blue\n",
			want: []string{`.stagecoach.yaml:2:3: ephemeral.colour: unknown key`},
		},
		{
			name: "duplicate key",
			yaml: "project: a\nproject: b\n",
			want: []string{`.stagecoach.yaml:2:1: project: duplicate key (first at line 1)`},
		},
		{
			name: "mapping where a string belongs",
			yaml: "project: {path: infra}\n",
			want: []string{`.stagecoach.yaml:1:10: project: expected a string, got a mapping`},
		},
		{
			name: "string where a number belongs",
			yaml: "ephemeral:\n  max_active: \"3\"\n",
			want: []string{`.stagecoach.yaml:2:15: ephemeral.max_active: expected a whole number, got the string "3"`},
		},
		{
			name: "yes is not a boolean",
			yaml: "ephemeral:\n  enabled: yes\n",
			want: []string{`.stagecoach.yaml:2:12: ephemeral.enabled: expected true or false, got the string "yes"`},
		},
		{
			name: "unquoted true is not a string",
			yaml: "environments:\n  - name: true\n",
			want: []string{`.stagecoach.yaml:2:11: environments[0].name: expected a string, got the boolean true (quote it if you mean the text)`},
		},
		{
			name: "scalar where a list belongs",
			yaml: "environments:\n  - name: dev\n    promoters:\n      users: alice\n",
			want: []string{`.stagecoach.yaml:4:14: environments[0].promoters.users: expected a list, got the string "alice"`},
		},
		{
			name: "bad duration unit",
			yaml: "environments:\n  - name: dev\n  - name: prod\n    soak: 3x\n",
			want: []string{`.stagecoach.yaml:4:11: environments[1].soak: invalid duration "3x": unknown unit "x" (use ns, us, ms, s, m, h or d)`},
		},
		{
			name: "duration without unit",
			yaml: "ephemeral:\n  ttl: 72\n",
			want: []string{`.stagecoach.yaml:2:8: ephemeral.ttl: invalid duration 72: missing unit (write e.g. 72h or 72d)`},
		},
		{
			name: "negative duration",
			yaml: "ephemeral:\n  ttl_warning: -1h\n",
			want: []string{`.stagecoach.yaml:2:16: ephemeral.ttl_warning: invalid duration "-1h": must not be negative`},
		},
		{
			name: "fractional days",
			yaml: "ephemeral:\n  ttl: 1.5d\n",
			want: []string{`.stagecoach.yaml:2:8: ephemeral.ttl: invalid duration "1.5d": days must be a whole number, got "1.5d" (write e.g. 1d12h)`},
		},
		{
			name: "cron spec without CRON_TZ",
			yaml: "schedules:\n  dev:\n    sleep: \"0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:3:12: schedules.dev.sleep: invalid cron spec "0 20 * * *": missing time zone: start the spec with CRON_TZ=<IANA zone>, e.g. "CRON_TZ=UTC 0 20 * * *"`},
		},
		{
			name: "cron spec with TZ= instead of CRON_TZ=",
			yaml: "schedules:\n  dev:\n    sleep: \"TZ=0\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:3:12: schedules.dev.sleep: invalid cron spec "TZ=0": write the time zone as CRON_TZ=<zone>, not TZ=<zone>`},
		},
		{
			name: "CRON_TZ with nothing after it, which panics robfig/cron",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:3:12: schedules.dev.sleep: invalid cron spec "CRON_TZ=UTC": missing schedule after CRON_TZ=UTC`},
		},
		{
			name: "unknown time zone",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=Europe/Berlim 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:3:12: schedules.dev.sleep: invalid cron spec "CRON_TZ=Europe/Berlim 0 20 * * *": unknown time zone "Europe/Berlim" (use an IANA name such as Europe/Berlin, America/New_York or UTC)`},
		},
		{
			name: "bad cron field",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 25 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:3:12: schedules.dev.sleep: invalid cron spec "CRON_TZ=UTC 0 25 * * *": hour 25 is out of range: use 0–23`},
		},
		{
			name: "six-field cron spec",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:3:12: schedules.dev.sleep: invalid cron spec "CRON_TZ=UTC 0 0 20 * * *": expected 5 fields (minute hour day-of-month month day-of-week), found 6 (seconds are not supported)`},
		},
		{
			name: "cron spec that never fires",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 0 30 2 *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:3:12: schedules.dev.sleep: invalid cron spec "CRON_TZ=UTC 0 0 30 2 *": never fires: no month has that day`},
		},
		{
			name: "@every is refused",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC @every 1h\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:3:12: schedules.dev.sleep: invalid cron spec "CRON_TZ=UTC @every 1h": @every is not supported: use a calendar spec such as "0 */2 * * *"`},
		},
		{
			name: "duplicate environment names ignoring case",
			yaml: "environments:\n  - name: dev\n  - name: Dev\n    stack: dev2\n",
			want: []string{`.stagecoach.yaml:3:11: environments[1].name: duplicate environment name "Dev" (first at line 2)`},
		},
		{
			name: "reserved environment name",
			yaml: "environments:\n  - name: ephemeral\n",
			want: []string{`.stagecoach.yaml:2:11: environments[0].name: the name "ephemeral" is reserved for PR environments`},
		},
		{
			name: "invalid environment name",
			yaml: "environments:\n  - name: \"my env\"\n",
			want: []string{`.stagecoach.yaml:2:11: environments[0].name: invalid environment name "my env": use up to 32 letters, digits, '.', '_' or '-', starting with a letter or digit`},
		},
		{
			name: "environment without a name",
			yaml: "environments:\n  - stack: dev\n",
			want: []string{`.stagecoach.yaml:2:5: environments[0]: missing required key "name"`},
		},
		{
			name: "two environments on one stack",
			yaml: "environments:\n  - name: dev\n  - name: staging\n    stack: dev\n",
			want: []string{`.stagecoach.yaml:4:12: environments[1].stack: stack "dev" is already used by environment "dev" (line 2): each environment needs its own stack`},
		},
		{
			name: "invalid stack name",
			yaml: "environments:\n  - name: dev\n    stack: a/b/c/d\n",
			want: []string{`.stagecoach.yaml:3:12: environments[0].stack: invalid stack name "a/b/c/d": use letters, digits, '.', '_' and '-', optionally as org/project/stack`},
		},
		{
			name: "unknown trigger suggests the closest",
			yaml: "environments:\n  - name: dev\n    trigger: labels\n",
			want: []string{`.stagecoach.yaml:3:14: environments[0].trigger: invalid value "labels": must be one of merge, label, command (did you mean "label"?)`},
		},
		{
			name: "soak and allow_skip on the first environment",
			yaml: "environments:\n  - name: dev\n    soak: 1h\n    allow_skip: true\n",
			want: []string{
				`.stagecoach.yaml:3:11: environments[0].soak: the first environment has no previous environment to soak in`,
				`.stagecoach.yaml:4:17: environments[0].allow_skip: the first environment has no previous stage to skip`,
			},
		},
		{
			name: "negative approval count",
			yaml: "environments:\n  - name: dev\n    approvals:\n      required: -1\n",
			want: []string{`.stagecoach.yaml:4:17: environments[0].approvals.required: must not be negative, got -1`},
		},
		{
			name: "more approvals required than approvers listed",
			yaml: "environments:\n  - name: dev\n    approvals:\n      required: 2\n      approvers:\n        users: [alice]\n",
			want: []string{`.stagecoach.yaml:4:17: environments[0].approvals.required: needs 2 approvals but only 1 users may approve`},
		},
		{
			name: "unknown permission",
			yaml: "environments:\n  - name: dev\n    promoters:\n      permission: writer\n",
			want: []string{`.stagecoach.yaml:4:19: environments[0].promoters.permission: invalid value "writer": must be one of read, triage, write, maintain, admin (did you mean "write"?)`},
		},
		{
			name: "team without org and invalid login",
			yaml: "environments:\n  - name: dev\n    promoters:\n      users: [\"-bob\"]\n      teams: [platform]\n",
			want: []string{
				`.stagecoach.yaml:4:15: environments[0].promoters.users[0]: invalid GitHub login "-bob"`,
				`.stagecoach.yaml:5:15: environments[0].promoters.teams[0]: invalid team "platform": write it as org/team-slug`,
			},
		},
		{
			name: "freeze window mixing recurring and one-off",
			yaml: "environments:\n  - name: dev\n    freeze:\n      - reason: x\n        cron: \"CRON_TZ=UTC 0 18 * * FRI\"\n        start: 2025-01-01T00:00:00Z\n",
			want: []string{`.stagecoach.yaml:4:9: environments[0].freeze[0]: a freeze window is either recurring (cron and duration) or one-off (start and end), not both`},
		},
		{
			name: "freeze window without reason or duration",
			yaml: "environments:\n  - name: dev\n    freeze:\n      - cron: \"CRON_TZ=UTC 0 18 * * FRI\"\n",
			want: []string{
				`.stagecoach.yaml:4:9: environments[0].freeze[0]: missing required key "reason"`,
				`.stagecoach.yaml:4:9: environments[0].freeze[0]: missing required key "duration" for a recurring window`,
			},
		},
		{
			name: "freeze window ending before it starts",
			yaml: "environments:\n  - name: dev\n    freeze:\n      - reason: x\n        start: 2025-01-02T00:00:00Z\n        end: 2025-01-01T00:00:00Z\n",
			want: []string{`.stagecoach.yaml:6:14: environments[0].freeze[0].end: must be after start (2025-01-02T00:00:00Z)`},
		},
		{
			name: "freeze window time without zone",
			yaml: "environments:\n  - name: dev\n    freeze:\n      - reason: x\n        start: 2025-01-02 10:00\n        end: 2025-01-03T00:00:00Z\n",
			want: []string{`.stagecoach.yaml:5:16: environments[0].freeze[0].start: invalid time "2025-01-02 10:00": use RFC 3339 with a zone offset, e.g. 2025-12-24T00:00:00+01:00`},
		},
		{
			name: "zero-length recurring freeze window",
			yaml: "environments:\n  - name: dev\n    freeze:\n      - reason: x\n        cron: \"CRON_TZ=UTC 0 18 * * FRI\"\n        duration: 0\n",
			want: []string{`.stagecoach.yaml:6:19: environments[0].freeze[0].duration: must be longer than 0`},
		},
		{
			name: "label pattern without {env}",
			yaml: "promotion:\n  label_pattern: promote\n",
			want: []string{`.stagecoach.yaml:2:18: promotion.label_pattern: label pattern "promote" must contain {env} exactly once`},
		},
		{
			name: "promotion label longer than GitHub allows",
			yaml: "promotion:\n  label_pattern: \"please-promote-this-change-to-{env}\"\nenvironments:\n  - name: dev\n  - name: staging-europe-west-1\n    trigger: label\n",
			want: []string{`.stagecoach.yaml:5:11: environments[1].name: promotion label "please-promote-this-change-to-staging-europe-west-1" is longer than GitHub's 50 characters`},
		},
		{
			name: "project outside the repository",
			yaml: "project: ../infra\n",
			want: []string{`.stagecoach.yaml:1:10: project: invalid path "../infra": must stay inside the repository (no "..")`},
		},
		{
			name: "absolute project path",
			yaml: "project: /infra\n",
			want: []string{`.stagecoach.yaml:1:10: project: invalid path "/infra": must be relative to the repository root, not absolute`},
		},
		{
			name: "config template outside the repository",
			yaml: "ephemeral:\n  config_template: a/../../Pulumi.pr.yaml\n",
			want: []string{`.stagecoach.yaml:2:20: ephemeral.config_template: invalid path "a/../../Pulumi.pr.yaml": must stay inside the repository (no "..")`},
		},
		{
			name: "max_active of zero",
			yaml: "ephemeral:\n  max_active: 0\n",
			want: []string{`.stagecoach.yaml:2:15: ephemeral.max_active: must be at least 1, got 0`},
		},
		{
			name: "slot pool with a space",
			yaml: "ephemeral:\n  slot_pool: dev account\n",
			want: []string{`.stagecoach.yaml:2:14: ephemeral.slot_pool: want a name of letters, digits, '-', '_' and '.' (at most 64), such as aws-dev-account, got "dev account"`},
		},
		{
			name: "ttl of zero",
			yaml: "ephemeral:\n  ttl: 0\n  ttl_warning: 0\n",
			want: []string{`.stagecoach.yaml:2:8: ephemeral.ttl: must be longer than 0 (use the keep label to exempt an environment)`},
		},
		{
			name: "warning not before the ttl",
			yaml: "ephemeral:\n  ttl: 1d\n  ttl_warning: 24h\n",
			want: []string{`.stagecoach.yaml:3:16: ephemeral.ttl_warning: must be shorter than the TTL (1d)`},
		},
		{
			name: "stack pattern without {number}",
			yaml: "ephemeral:\n  stack: preview\n",
			want: []string{`.stagecoach.yaml:2:10: ephemeral.stack: stack pattern "preview" must contain {number} exactly once`},
		},
		{
			name: "same label for two purposes",
			yaml: "ephemeral:\n  labels:\n    opt_in: preview\n    keep: Preview\n",
			want: []string{`.stagecoach.yaml:4:11: ephemeral.labels.keep: label "Preview" is also the opt_in label`},
		},
		{
			name: "unknown fork policy",
			yaml: "ephemeral:\n  forks: always\n",
			want: []string{`.stagecoach.yaml:2:10: ephemeral.forks: invalid value "always": must be one of approve, never`},
		},
		{
			name: "schedule for an unknown environment suggests the closest",
			yaml: "schedules:\n  stagin:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:2:3: schedules.stagin: unknown environment "stagin" (known: dev, staging, prod, ephemeral) (did you mean "staging"?)`},
		},
		{
			name: "two schedules for one environment",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n  DEV:\n    sleep: \"CRON_TZ=UTC 0 21 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n",
			want: []string{`.stagecoach.yaml:5:3: schedules.DEV: duplicate schedule for "DEV" (first at line 2)`},
		},
		{
			name: "schedule without wake",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n",
			want: []string{`.stagecoach.yaml:2:3: schedules.dev: missing required key "wake"`},
		},
		{
			name: "grace outside the ephemeral schedule",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n    grace: 1h\n",
			want: []string{`.stagecoach.yaml:5:12: schedules.dev.grace: grace applies only to the ephemeral schedule`},
		},
		{
			name: "sleep and wake at the same time",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 20 * * *\"\n",
			want: []string{`.stagecoach.yaml:4:11: schedules.dev.wake: sleep and wake are the same spec "CRON_TZ=UTC 0 20 * * *"`},
		},
		{
			name: "config key with spaces",
			yaml: "schedules:\n  dev:\n    sleep: \"CRON_TZ=UTC 0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n    config_key: \"app: sleeping\"\n",
			want: []string{`.stagecoach.yaml:5:17: schedules.dev.config_key: invalid config key "app: sleeping": write namespace:name without spaces`},
		},
		{
			name: "unsupported version",
			yaml: "version: 2\n",
			want: []string{`.stagecoach.yaml:1:10: version: unsupported version 2: this stagecoach reads version 1`},
		},
		{
			name: "YAML syntax error carries its line and column",
			yaml: "project: infra\nenvironments: [dev\n",
			want: []string{`.stagecoach.yaml:2:16: invalid YAML: a [ list is not closed with "]" (or lacks a "," between items)`},
		},
		{
			name: "YAML parser error at the end of the file",
			yaml: "project: [infra\n",
			want: []string{`.stagecoach.yaml:1:11: invalid YAML: a [ list is not closed with "]" (or lacks a "," between items)`},
		},
		{
			name: "YAML block mapping error carries its line",
			yaml: "project: infra\nephemeral:\n  ttl: 1h\n bad: 1\n",
			want: []string{`.stagecoach.yaml:4:2: invalid YAML: this line's indentation does not match the lines above it`},
		},
		{
			name: "YAML scanner error carries its line",
			yaml: "project: infra\nephemeral:\n\tttl: 1h\n",
			want: []string{`.stagecoach.yaml:3:1: invalid YAML: a tab indents this line: YAML indents with spaces only`},
		},
		{
			name: "YAML scanner error on an unclosed quote",
			yaml: "project: infra\nversion: 1\nname: \"abc\n",
			want: []string{`.stagecoach.yaml:3:7: invalid YAML: the quoted text starting here is never closed with "`},
		},
		{
			name: "a second YAML document",
			yaml: "project: infra\n---\nproject: other\n",
			want: []string{`.stagecoach.yaml:2:1: the file holds more than one YAML document (remove the second "---")`},
		},
		{
			name: "a list at the top level",
			yaml: "- dev\n- prod\n",
			want: []string{`.stagecoach.yaml:1:1: expected a mapping of settings at the top level, got a list`},
		},
		{
			name: "merge keys",
			yaml: "environments:\n  - name: dev\n    <<: {soak: 1h}\n",
			want: []string{`.stagecoach.yaml:3:5: environments[0]: merge keys (<<) are not supported: alias the whole value instead`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := validationLines(t, tc.yaml)
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseReportsEveryErrorAtOnceInFileOrder(t *testing.T) {
	t.Parallel()
	data := "schedules:\n  qa:\n    sleep: \"0 20 * * *\"\n    wake: \"CRON_TZ=UTC 0 7 * * *\"\n" +
		"ephemeral:\n  max_active: -2\n  ttl: soon\n" +
		"environments:\n  - name: dev\n  - name: dev\n"
	got := validationLines(t, data)
	want := []string{
		`.stagecoach.yaml:2:3: schedules.qa: unknown environment "qa" (known: dev, ephemeral)`,
		`.stagecoach.yaml:3:12: schedules.qa.sleep: invalid cron spec "0 20 * * *": missing time zone: start the spec with CRON_TZ=<IANA zone>, e.g. "CRON_TZ=UTC 0 20 * * *"`,
		`.stagecoach.yaml:6:15: ephemeral.max_active: must be at least 1, got -2`,
		`.stagecoach.yaml:7:8: ephemeral.ttl: invalid duration "soon": expected a number at "soon" (write e.g. 90m, 12h or 3d)`,
		`.stagecoach.yaml:10:11: environments[1].name: duplicate environment name "dev" (first at line 9)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidationErrorIsFoundThroughWrapping(t *testing.T) {
	t.Parallel()
	_, err := Parse("repo/.stagecoach.yaml", []byte("ephemeral:\n  ttl: 3x\n"))
	wrapped := fmt.Errorf("loading config of acme/web: %w", err)
	var verr *ValidationError
	if !errors.As(wrapped, &verr) {
		t.Fatalf("errors.As(%v) found no *ValidationError", wrapped)
	}
	want := FieldError{File: "repo/.stagecoach.yaml", Line: 2, Column: 8, Field: "ephemeral.ttl", Message: `invalid duration "3x": unknown unit "x" (use ns, us, ms, s, m, h or d)`}
	if len(verr.Errors) != 1 || verr.Errors[0] != want {
		t.Errorf("errors = %+v, want [%+v]", verr.Errors, want)
	}
}

func TestParseStopsAnAliasBomb(t *testing.T) {
	t.Parallel()
	// 2,000 environments sharing one list of 2,000 freeze windows: four
	// million windows to walk if aliases were followed without limit.
	var b strings.Builder
	b.WriteString("environments:\n  - name: e0\n    freeze: &f\n      - &w {reason: r, cron: \"CRON_TZ=UTC 0 0 * * *\", duration: 1h}\n")
	for range 1999 {
		b.WriteString("      - *w\n")
	}
	for i := 1; i < 2000; i++ {
		fmt.Fprintf(&b, "  - {name: e%d, freeze: *f}\n", i)
	}
	lines := validationLines(t, b.String())
	// Each environment is 8,003 values (item, 2 keys, 2,000 windows of 4),
	// so the walk stops inside the shared list while walking the 13th.
	want := []string{".stagecoach.yaml:994:9: the file holds more than 100000 values (counting those repeated through aliases)"}
	if !slices.Equal(lines, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseLocatesYAMLSyntaxErrors(t *testing.T) {
	t.Parallel()
	long := "environments:\n" + strings.Repeat("  - name: dev\n    stack: dev\n", 40) + "  - name: prod\n   stack: prod\n"
	cases := []struct{ name, yaml, want string }{
		{"a misindented line far below the start of its list", long,
			`.stagecoach.yaml:83:4: invalid YAML: this line's indentation does not match the lines above it`},
		{"a key indented past its siblings", "ephemeral:\n  ttl: 1h\n    max_active: 2\n",
			`.stagecoach.yaml:3:15: invalid YAML: unexpected ":" — put a value that contains ": " in quotes, or check this line's indentation`},
		{"a tab after spaces", "ephemeral:\n  ttl: 1h\n\tmax_active: 2\n",
			`.stagecoach.yaml:3:1: invalid YAML: a tab indents this line: YAML indents with spaces only`},
		{"a single quote never closed", "project: infra\nephemeral:\n  stack: 'pr-{number}\n",
			`.stagecoach.yaml:3:10: invalid YAML: the quoted text starting here is never closed with '`},
		{"a line without a colon inside a mapping", "project: infra\nephemeral\nversion: 1\n",
			`.stagecoach.yaml:2:1: invalid YAML: expected a "key: value" line`},
		{"a reserved character starting a value", "project: infra\nephemeral:\n  stack: @pr\n",
			`.stagecoach.yaml:3:10: invalid YAML: '@' cannot start a value: put the value in quotes`},
		{"an alias without its anchor", "project: infra\nenvironments: *envs\n",
			`.stagecoach.yaml:2:19: invalid YAML: *envs refers to no anchor: define &envs before using it`},
		{"columns count characters, not bytes", "ephemeral:\n  stack: \"größe\": x\n",
			`.stagecoach.yaml:2:17: invalid YAML: unexpected ":" — put a value that contains ": " in quotes, or check this line's indentation`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := validationLines(t, tc.yaml)
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}
}
