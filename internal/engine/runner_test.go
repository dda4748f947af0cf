package engine_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
)

const demoSecret = "s3cr3t-token-value"

// thing is a component resource: the engine creates, updates and deletes it from its inputs alone,
// with no provider plugin.
type thing struct{ pulumi.ResourceState }

// demoProgram registers a component with typed inputs and a builtin Stash under it, and exports the
// greeting and a secret, all driven by config.
func demoProgram(ctx *pulumi.Context) error {
	greeting, _ := ctx.GetConfig("demo:greeting")
	token, _ := ctx.GetConfig("demo:token")
	var th thing
	err := ctx.RegisterComponentResourceV2("demo:index:Thing", "thing", pulumi.Map{
		"greeting": pulumi.String(greeting),
		"tags":     pulumi.StringMap{"env": pulumi.String(ctx.Stack()), "greeting": pulumi.String(greeting)},
	}, &th)
	if err != nil {
		return err
	}
	if _, err := pulumi.NewStash(ctx, "stash", &pulumi.StashArgs{Input: pulumi.String(greeting)}, pulumi.Parent(&th)); err != nil {
		return err
	}
	ctx.Export("greeting", pulumi.String(greeting))
	ctx.Export("token", pulumi.ToSecret(pulumi.String(token)))
	return nil
}

func demoRequest(stack, greeting string) engine.Request {
	return engine.Request{
		Program: engine.InlineProgram("demo", demoProgram),
		Stack:   stack,
		Config: map[string]engine.ConfigValue{
			"greeting": {Value: greeting},
			"token":    {Value: demoSecret, Secret: true},
		},
		Tags: map[string]string{engine.TagRepo: "acme/app", engine.TagPR: "7", engine.TagEnv: stack},
	}
}

func TestInlineProgramLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := enginetest.Config(t)
	r, _, logs := enginetest.NewRunner(t, cfg)
	const fq = "organization/demo/pr-7"

	t.Run("preview of a new stack plans every create", func(t *testing.T) {
		res, err := r.Preview(ctx, demoRequest("pr-7", "hello"))
		if err != nil {
			t.Fatalf("Preview: %v", err)
		}
		wantCounts(t, res, map[engine.Op]int{engine.OpCreate: 3})
		if res.Stack != fq || res.Kind != engine.KindPreview || !res.Succeeded {
			t.Errorf("result = %s %s succeeded=%v, want preview of %s succeeded", res.Kind, res.Stack, res.Succeeded, fq)
		}
		if got := changeNames(res); !slices.Equal(got, []string{"create demo-pr-7", "create thing", "create stash"}) {
			t.Errorf("changes = %q", got)
		}
		checkLog(t, logs, res)
	})

	t.Run("up creates the resources and masks the secret output", func(t *testing.T) {
		res, err := r.Up(ctx, demoRequest("pr-7", "hello"))
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		wantCounts(t, res, map[engine.Op]int{engine.OpCreate: 3})
		if got := res.Outputs["greeting"]; got != (engine.Output{Value: "hello"}) {
			t.Errorf("greeting output = %+v", got)
		}
		if got := res.Outputs["token"]; got != (engine.Output{Value: "[secret]", Secret: true}) {
			t.Errorf("token output = %+v, want it masked", got)
		}
		checkLog(t, logs, res)
	})

	t.Run("a config change previews as updates with property diffs", func(t *testing.T) {
		res, err := r.Preview(ctx, demoRequest("pr-7", "hi"))
		if err != nil {
			t.Fatalf("Preview: %v", err)
		}
		wantCounts(t, res, map[engine.Op]int{engine.OpUpdate: 2, engine.OpSame: 1})
		diffs := map[string][]engine.PropertyDiff{}
		for _, c := range res.Changes {
			if c.Op != engine.OpUpdate {
				t.Errorf("change %s is %s, want update", c.Name, c.Op)
			}
			diffs[c.Name] = c.Diffs
		}
		wantThing := []engine.PropertyDiff{
			{Path: "greeting", Kind: "update", Old: "hello", New: "hi"},
			{Path: "tags.greeting", Kind: "update", Old: "hello", New: "hi"},
		}
		if !slices.Equal(diffs["thing"], wantThing) {
			t.Errorf("thing diffs = %+v, want %+v", diffs["thing"], wantThing)
		}
		if want := []engine.PropertyDiff{{Path: "input", Kind: "update", Old: "hello", New: "hi"}}; !slices.Equal(diffs["stash"], want) {
			t.Errorf("stash diffs = %+v, want %+v", diffs["stash"], want)
		}
	})

	t.Run("up applies the config change", func(t *testing.T) {
		res, err := r.Up(ctx, demoRequest("pr-7", "hi"))
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		wantCounts(t, res, map[engine.Op]int{engine.OpUpdate: 2, engine.OpSame: 1})
		if out := res.Outputs; out["greeting"].Value != "hi" || out["token"] != (engine.Output{Value: "[secret]", Secret: true}) {
			t.Errorf("outputs = %+v", out)
		}
		if saved := enginetest.StateOutputs(t, cfg.BackendURL, "demo", "pr-7"); !maps.Equal(saved, res.Outputs) {
			t.Errorf("outputs in the state = %+v, want the result's %+v", saved, res.Outputs)
		}
	})

	t.Run("stacks are found by their tags", func(t *testing.T) {
		tags, err := r.Tags(ctx, engine.Request{Program: engine.StateOnly("demo"), Stack: "pr-7"})
		if err != nil {
			t.Fatalf("Tags: %v", err)
		}
		if tags[engine.TagRepo] != "acme/app" || tags[engine.TagPR] != "7" {
			t.Errorf("tags = %v", tags)
		}
		found, err := r.ListStacks(ctx, "demo", map[string]string{engine.TagRepo: "acme/app", engine.TagPR: "7"})
		if err != nil {
			t.Fatalf("ListStacks: %v", err)
		}
		if len(found) != 1 || found[0].Name != fq || found[0].Tags[engine.TagPR] != "7" {
			t.Errorf("ListStacks = %+v, want %s", found, fq)
		}
		none, err := r.ListStacks(ctx, "demo", map[string]string{engine.TagRepo: "acme/app", engine.TagPR: "8"})
		if err != nil || len(none) != 0 {
			t.Errorf("ListStacks with a tag no stack has = %+v, %v; want none", none, err)
		}
	})

	t.Run("destroy deletes everything and removes the stack", func(t *testing.T) {
		res, err := r.Destroy(ctx, engine.Request{Program: engine.StateOnly("demo"), Stack: "pr-7"})
		if err != nil {
			t.Fatalf("Destroy: %v", err)
		}
		wantCounts(t, res, map[engine.Op]int{engine.OpDelete: 3})
		_, err = r.Tags(ctx, engine.Request{Program: engine.StateOnly("demo"), Stack: "pr-7"})
		if !errors.Is(err, engine.ErrStackNotFound) {
			t.Errorf("Tags after destroy: %v, want ErrStackNotFound", err)
		}
		if found, err := r.ListStacks(ctx, "demo", nil); err != nil || len(found) != 0 {
			t.Errorf("ListStacks after destroy = %+v, %v; want none", found, err)
		}
	})
}

func wantCounts(t *testing.T, res engine.Result, want map[engine.Op]int) {
	t.Helper()
	got := map[engine.Op]int{}
	for op, n := range res.Counts {
		if n != 0 {
			got[op] = n
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s counts = %v, want %v", res.Kind, got, want)
		return
	}
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s counts = %v, want %v", res.Kind, got, want)
			return
		}
	}
}

func changeNames(res engine.Result) []string {
	var out []string
	for _, c := range res.Changes {
		out = append(out, string(c.Op)+" "+c.Name)
	}
	return out
}

// checkLog checks the operation's log was saved, holds the engine's output, no ANSI escapes and no secret.
func checkLog(t *testing.T, logs *enginetest.Logs, res engine.Result) {
	t.Helper()
	l, ok := logs.Get(res.LogID)
	if !ok {
		t.Fatalf("log %q of the %s was not saved", res.LogID, res.Kind)
	}
	if l.Stack != res.Stack || l.Kind != string(res.Kind) || l.Succeeded != res.Succeeded || l.Finished.Before(l.Started) {
		t.Errorf("log header = %+v, want it to match the result", l)
	}
	if !strings.Contains(l.Text, "Resources:") {
		t.Errorf("log lacks the engine's summary:\n%s", l.Text)
	}
	for _, bad := range []string{"\x1b[", demoSecret, enginetest.Passphrase} {
		if strings.Contains(l.Text, bad) {
			t.Errorf("log contains %q:\n%s", bad, l.Text)
		}
	}
}
