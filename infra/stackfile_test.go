package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"go.yaml.in/yaml/v3"

	"github.com/stagecoach/stagecoach/internal/stackkeys"
)

// TestStackFilesThroughPulumiConfig feeds each stack file to the program the
// way the Pulumi CLI does, through the PULUMI_CONFIG environment variable, and
// checks it declares exactly what the direct path (deploy) declares. It cannot
// run in parallel: the variable is process-wide.
func TestStackFilesThroughPulumiConfig(t *testing.T) {
	for _, file := range committedStacks(t) {
		t.Run(file, func(t *testing.T) {
			stack, values := deployable(t, file)
			raw, err := json.Marshal(values)
			if err != nil {
				t.Fatal(err)
			}
			t.Setenv("PULUMI_CONFIG", string(raw))

			viaEnv := &deployment{region: values[keyRegion]}
			err = pulumi.RunErr(func(ctx *pulumi.Context) error {
				return program(ctx, testSeedCode(t))
			}, pulumi.WithMocks(projectNamespace, stack, viaEnv))
			if err != nil {
				t.Fatalf("running %s from PULUMI_CONFIG: %v", stack, err)
			}
			direct := mustDeploy(t, stack, values)
			if len(viaEnv.resources()) == 0 {
				t.Fatal("nothing was declared")
			}
			if diff := changes(direct, viaEnv); len(diff) > 0 {
				t.Errorf("PULUMI_CONFIG and direct config disagree: %q", diff)
			}
		})
	}
}

func TestStackFilesUseKnownKeys(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		Name    string `yaml:"name"`
		Runtime string `yaml:"runtime"`
	}
	if err := yaml.Unmarshal(b, &project); err != nil {
		t.Fatal(err)
	}
	if project.Name != projectNamespace || project.Runtime != "go" {
		t.Errorf("Pulumi.yaml: project %q runtime %q, want %q and go (the config namespace)", project.Name, project.Runtime, projectNamespace)
	}
	for _, file := range committedStacks(t) {
		for key := range stackValues(t, file) {
			ns, _, _ := strings.Cut(key, ":")
			switch {
			case ns == "aws":
			case ns == projectNamespace || ns == stackkeys.Namespace:
				if !slices.Contains(configKeys(), key) {
					t.Errorf("Pulumi.%s.yaml: %s is not a key the program reads", file, key)
				}
			default:
				t.Errorf("Pulumi.%s.yaml: %s is in namespace %q, which nothing reads", file, key, ns)
			}
		}
		for key := range stackValues(t, file) {
			if strings.HasPrefix(key, stackkeys.Namespace+":") {
				t.Errorf("Pulumi.%s.yaml commits %s, which only the bot sets", file, key)
			}
		}
	}
}
