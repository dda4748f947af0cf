package engine

import (
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

const (
	urnBucket   = "urn:pulumi:dev::app::aws:s3/bucket:Bucket::logs"
	urnDB       = "urn:pulumi:dev::app::aws:rds/instance:Instance::db"
	urnProvider = "urn:pulumi:dev::app::pulumi:providers:aws::default_6_83_4"
	urnRef      = "urn:pulumi:dev::app::pulumi:pulumi:StackReference::ref"
	secretValue = "correct-horse"
)

func state(urn string, inputs, outputs map[string]any) *apitype.StepEventStateMetadata {
	return &apitype.StepEventStateMetadata{URN: urn, Inputs: inputs, Outputs: outputs}
}

func pre(meta apitype.StepEventMetadata) events.EngineEvent {
	return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: meta}}}
}

func outputs(meta apitype.StepEventMetadata) events.EngineEvent {
	return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResOutputsEvent: &apitype.ResOutputsEvent{Metadata: meta}}}
}

func diag(severity, msg string) events.EngineEvent {
	return events.EngineEvent{EngineEvent: apitype.EngineEvent{DiagnosticEvent: &apitype.DiagnosticEvent{Severity: severity, Message: msg}}}
}

func TestCollectorFoldsEngineSteps(t *testing.T) {
	t.Parallel()
	m := newMasker()
	m.add(secretValue)
	c := newCollector(m)
	secret := map[string]any{sigKey: sigSecret, "ciphertext": "[secret]"}
	dbOld := state(urnDB, map[string]any{"engine": "postgres", "size": "db.t3.micro", "password": secret},
		map[string]any{"engine": "postgres", "size": "db.t3.micro"})
	dbNew := state(urnDB, map[string]any{"engine": "mysql", "size": "db.t3.micro", "password": secret}, nil)
	replace := apitype.StepEventMetadata{Op: apitype.OpReplace, URN: urnDB, Type: "aws:rds/instance:Instance",
		Old: dbOld, New: dbNew, Keys: []string{"engine"},
		DetailedDiff: map[string]apitype.PropertyDiff{"engine": {Kind: apitype.DiffUpdateReplace, InputDiff: true}}}
	stream := []events.EngineEvent{
		// A replacement arrives as three steps.
		pre(apitype.StepEventMetadata{Op: apitype.OpCreateReplacement, URN: urnDB, Old: dbOld, New: dbNew}),
		pre(replace),
		pre(apitype.StepEventMetadata{Op: apitype.OpDeleteReplaced, URN: urnDB, Old: dbOld}),
		// A component-style update without a detailed diff: inputs are compared, nested.
		outputs(apitype.StepEventMetadata{Op: apitype.OpUpdate, URN: urnBucket,
			Old: state(urnBucket, map[string]any{"tags": map[string]any{"env": "dev", "team": "a"}, "rules": []any{"x"}}, nil),
			New: state(urnBucket, map[string]any{"tags": map[string]any{"env": "dev", "owner": "b"}, "rules": []any{"x", "y"}}, nil)}),
		// Default providers are not counted, as in Pulumi's own summary.
		pre(apitype.StepEventMetadata{Op: apitype.OpCreate, URN: urnProvider}),
		// A read of the same thing changes nothing.
		outputs(apitype.StepEventMetadata{Op: apitype.OpRead, URN: urnRef,
			Old: state(urnRef, map[string]any{"name": "o/p/a"}, nil), New: state(urnRef, map[string]any{"name": "o/p/a"}, nil)}),
		diag("error", "\x1b[31mdb: password "+secretValue+" rejected\x1b[0m\n"),
		diag("error", "db: password "+secretValue+" rejected"),
		diag("info#err", "not a failure by itself\n"),
	}
	for _, e := range stream {
		c.ch <- e
	}
	c.finish()
	var res Result
	c.fill(&res)

	if want := map[Op]int{OpReplace: 1, OpUpdate: 1, OpSame: 1}; len(res.Counts) != 3 ||
		res.Counts[OpReplace] != 1 || res.Counts[OpUpdate] != 1 || res.Counts[OpSame] != 1 {
		t.Errorf("counts = %v, want %v", res.Counts, want)
	}
	if len(res.Changes) != 2 {
		t.Fatalf("changes = %+v, want the database and the bucket", res.Changes)
	}
	db, bucket := res.Changes[0], res.Changes[1]
	if db.Op != OpReplace || db.Name != "db" || db.Type != "aws:rds/instance:Instance" {
		t.Errorf("db change = %+v", db)
	}
	if want := []PropertyDiff{{Path: "engine", Kind: "update-replace", Old: "postgres", New: "mysql"}}; !slices.Equal(db.Diffs, want) {
		t.Errorf("db diffs = %+v, want %+v", db.Diffs, want)
	}
	wantBucket := []PropertyDiff{
		{Path: "rules[1]", Kind: "add", New: "y"},
		{Path: "tags.owner", Kind: "add", New: "b"},
		{Path: "tags.team", Kind: "delete", Old: "a"},
	}
	if !slices.Equal(bucket.Diffs, wantBucket) {
		t.Errorf("bucket diffs = %+v, want %+v", bucket.Diffs, wantBucket)
	}
	if want := []string{"db: password [secret] rejected"}; !slices.Equal(res.Errors, want) {
		t.Errorf("errors = %q, want %q", res.Errors, want)
	}
	if got := c.programErrors(); got != "not a failure by itself" {
		t.Errorf("program errors = %q", got)
	}
}

func TestCollectorReadOfAnotherResourceIsAnUpdate(t *testing.T) {
	t.Parallel()
	c := newCollector(newMasker())
	c.ch <- outputs(apitype.StepEventMetadata{Op: apitype.OpRead, URN: urnRef,
		Old: state(urnRef, map[string]any{"name": "o/p/a"}, nil), New: state(urnRef, map[string]any{"name": "o/p/b"}, nil)})
	c.finish()
	var res Result
	c.fill(&res)
	want := []PropertyDiff{{Path: "name", Kind: "update", Old: "o/p/a", New: "o/p/b"}}
	if len(res.Changes) != 1 || res.Changes[0].Op != OpUpdate || !slices.Equal(res.Changes[0].Diffs, want) {
		t.Errorf("changes = %+v", res.Changes)
	}
}

func TestCollectorFinishesWithoutAClosedChannel(t *testing.T) {
	t.Parallel()
	// The Automation API never closes the channel when the CLI fails before the engine starts.
	c := newCollector(newMasker())
	c.finish()
	var res Result
	c.fill(&res)
	if res.Changed() != 0 || len(res.Changes) != 0 {
		t.Errorf("result = %+v", res)
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	m := newMasker()
	m.add("hunter22")
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'é' % 128
	}
	for _, tt := range []struct {
		in   any
		want string
	}{
		{"plain", "plain"},
		{3.0, "3"},
		{true, "true"},
		{nil, ""},
		{unknownVal, "[unknown]"},
		{map[string]any{sigKey: sigSecret, "value": "x"}, "[secret]"},
		{map[string]any{"a": []any{1.0, map[string]any{sigKey: sigSecret}}}, `{"a":[1,"[secret]"]}`},
		{"line one\nline two", "line one …"},
		{"pw=hunter22", "pw=[secret]"},
		{string(long), string(long[:maxValueLen]) + "…"},
	} {
		if got := render(tt.in, m); got != tt.want {
			t.Errorf("render(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
