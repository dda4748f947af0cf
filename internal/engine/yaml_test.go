package engine_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/source"
)

// yamlProject needs no provider plugin: its one resource is a StackReference, which the engine's
// builtin provider reads, and its outputs come from config.
const yamlProject = `name: yamldemo
runtime: yaml
config:
  greeting:
    type: string
  token:
    type: string
    secret: true
  upstream:
    type: string
resources:
  ref:
    type: pulumi:pulumi:StackReference
    properties:
      name: ${upstream}
outputs:
  greeting: ${greeting}
  token: ${token}
  upstreamGreeting: ${ref.outputs["greeting"]}
`

// fetchYAMLProject serves a repository holding yamlProject from the GitHub simulator and fetches it
// at its commit the way the bot does: the installation's go-github client and source.Fetcher.
func fetchYAMLProject(t *testing.T) string {
	t.Helper()
	sim, err := githubsim.New(githubsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	inst := sim.AddInstallation("acme")
	repo, err := sim.CreateRepo("acme", "app", map[string]string{"README.md": "# app\n", "infra/Pulumi.yaml": yamlProject})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ghinstallation.New(http.DefaultTransport, sim.AppID(), inst, sim.AppPrivateKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = sim.URL()
	gh, err := github.NewClient(&http.Client{Transport: tr}).WithEnterpriseURLs(sim.URL(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	f, err := source.New(source.Config{Dir: filepath.Join(t.TempDir(), "sources")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := f.Project(context.Background(), gh.Repositories, "acme", "app", repo.HeadSHA, "infra")
	if err != nil {
		t.Fatalf("Project: %v", err)
	}
	return dir
}

func yamlRequest(dir, stack, greeting, upstream string) engine.Request {
	return engine.Request{
		Program: engine.LocalProgram(dir),
		Stack:   stack,
		Config: map[string]engine.ConfigValue{
			"greeting": {Value: greeting},
			"token":    {Value: demoSecret, Secret: true},
			"upstream": {Value: "organization/yamldemo/" + upstream},
		},
	}
}

func TestYAMLProjectFromATarball(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := fetchYAMLProject(t)
	r, _, logs := enginetest.NewRunner(t, enginetest.Config(t))

	// An upstream stack of the same project, referring to itself.
	if _, err := r.Up(ctx, yamlRequest(dir, "base", "from base", "base")); err != nil {
		t.Fatalf("Up base: %v", err)
	}

	t.Run("preview and up of a new stack", func(t *testing.T) {
		res, err := r.Preview(ctx, yamlRequest(dir, "pr-9", "hello", "base"))
		if err != nil {
			t.Fatalf("Preview: %v", err)
		}
		wantCounts(t, res, map[engine.Op]int{engine.OpCreate: 1, engine.OpSame: 1})
		res, err = r.Up(ctx, yamlRequest(dir, "pr-9", "hello", "base"))
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		want := map[string]engine.Output{
			"greeting":         {Value: "hello"},
			"token":            {Value: "[secret]", Secret: true},
			"upstreamGreeting": {Value: "from base"},
		}
		for k, v := range want {
			if res.Outputs[k] != v {
				t.Errorf("output %s = %+v, want %+v", k, res.Outputs[k], v)
			}
		}
		checkLog(t, logs, res)
	})

	t.Run("a config change shows the reference moving", func(t *testing.T) {
		res, err := r.Preview(ctx, yamlRequest(dir, "pr-9", "hi", "pr-9"))
		if err != nil {
			t.Fatalf("Preview: %v", err)
		}
		wantCounts(t, res, map[engine.Op]int{engine.OpUpdate: 1, engine.OpSame: 1})
		if len(res.Changes) != 1 || res.Changes[0].Name != "ref" || res.Changes[0].Type != "pulumi:pulumi:StackReference" {
			t.Fatalf("changes = %+v, want the stack reference", res.Changes)
		}
		want := engine.PropertyDiff{Path: "name", Kind: "update", Old: "organization/yamldemo/base", New: "organization/yamldemo/pr-9"}
		if d := res.Changes[0].Diffs; len(d) != 1 || d[0] != want {
			t.Errorf("diffs = %+v, want %+v", d, want)
		}
		res, err = r.Up(ctx, yamlRequest(dir, "pr-9", "hi", "pr-9"))
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		if res.Outputs["greeting"].Value != "hi" || res.Outputs["upstreamGreeting"].Value != "hello" {
			t.Errorf("outputs = %+v, want greeting hi read back as upstream hello", res.Outputs)
		}
	})

	t.Run("destroy removes the stacks, with or without the program", func(t *testing.T) {
		res, err := r.Destroy(ctx, yamlRequest(dir, "pr-9", "hi", "pr-9"))
		if err != nil {
			t.Fatalf("Destroy pr-9: %v", err)
		}
		if res.Counts[engine.OpDelete] != 2 {
			t.Errorf("destroy counts = %v, want 2 deletes", res.Counts)
		}
		if _, err := r.Destroy(ctx, engine.Request{Program: engine.StateOnly("yamldemo"), Stack: "base"}); err != nil {
			t.Fatalf("Destroy base without its program: %v", err)
		}
		if found, err := r.ListStacks(ctx, "yamldemo", nil); err != nil || len(found) != 0 {
			t.Errorf("stacks left = %+v, %v", found, err)
		}
		_, err = r.Destroy(ctx, engine.Request{Program: engine.StateOnly("yamldemo"), Stack: "base"})
		if !errors.Is(err, engine.ErrStackNotFound) {
			t.Errorf("Destroy of a removed stack = %v, want ErrStackNotFound", err)
		}
	})

	t.Run("a broken program fails in plain words", func(t *testing.T) {
		broken := yamlRequest(dir, "pr-9", "hi", "pr-9")
		delete(broken.Config, "upstream")
		res, err := r.Preview(ctx, broken)
		var opErr *engine.OperationError
		if !errors.As(err, &opErr) || res.Succeeded {
			t.Fatalf("Preview without required config = %+v, %v; want an OperationError", res, err)
		}
		if len(res.Errors) == 0 || !strings.Contains(strings.Join(res.Errors, "\n"), "upstream") ||
			strings.Contains(strings.Join(res.Errors, "\n"), "code: ") {
			t.Errorf("errors = %q, want the missing config named, without the CLI dump", res.Errors)
		}
	})
}
