package toolchain

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// TestEnsureRealToolchain runs the real Ensure against the default cache, ignoring any pulumi on
// PATH: the first run on a machine builds the pinned CLI and YAML host (minutes; `.ci/run` does it
// beforehand with `bot toolchain install`), later runs find them. It then deploys a YAML program
// through Tools.Command on a file backend.
func TestEnsureRealToolchain(t *testing.T) {
	if testing.Short() {
		t.Skip("may build the Pulumi CLI from source")
	}
	t.Parallel()
	ctx := t.Context()
	tools, err := Ensure(ctx, Options{
		LookPath: func(name string) (string, error) {
			if strings.HasPrefix(name, "pulumi") {
				return "", exec.ErrNotFound
			}
			return exec.LookPath(name)
		},
		Progress: t.Output(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("toolchain: %+v", tools)

	out, err := exec.CommandContext(ctx, tools.Pulumi, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", tools.Pulumi, err)
	}
	if got := strings.TrimSpace(string(out)); got != "v"+PulumiVersion || tools.Version != PulumiVersion {
		t.Errorf("pulumi version = %q, Tools.Version = %q, want v%s", got, tools.Version, PulumiVersion)
	}
	if !isExecutable(tools.YAMLHost) {
		t.Fatalf("YAML host %q is not an executable", tools.YAMLHost)
	}
	if len(tools.LanguageDirs) != 1 || filepath.Dir(tools.YAMLHost) != tools.LanguageDirs[0] {
		t.Errorf("LanguageDirs = %q, want the YAML host's directory", tools.LanguageDirs)
	}

	t.Run("a YAML program deploys without warnings about the language host", func(t *testing.T) {
		t.Parallel()
		project := t.TempDir()
		yaml := "name: toolchain-check\nruntime: yaml\noutputs:\n  greeting: hello\n  stack: ${pulumi.stack}\n"
		if err := os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd, err := tools.Command()
		if err != nil {
			t.Fatal(err)
		}
		ws, err := auto.NewLocalWorkspace(ctx, auto.Pulumi(cmd), auto.WorkDir(project),
			auto.PulumiHome(t.TempDir()), auto.EnvVars(map[string]string{
				"PULUMI_BACKEND_URL":       "file://" + filepath.ToSlash(t.TempDir()),
				"PULUMI_CONFIG_PASSPHRASE": "test",
				"PULUMI_SKIP_UPDATE_CHECK": "true",
			}))
		if err != nil {
			t.Fatal(err)
		}
		stack, err := auto.UpsertStack(ctx, "dev", ws)
		if err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		res, err := stack.Up(ctx, optup.ProgressStreams(&log))
		if err != nil {
			t.Fatalf("up: %v\n%s", err, log.String())
		}
		if res.Outputs["greeting"].Value != "hello" || res.Outputs["stack"].Value != "dev" {
			t.Errorf("outputs = %v", res.Outputs)
		}
		if strings.Contains(log.String(), "warning") {
			t.Errorf("up printed a warning:\n%s", log.String())
		}
	})
}
