package toolchain

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnsureRealToolchain runs the real Ensure against the default cache, ignoring any pulumi on
// PATH: the first run on a machine builds the pinned CLI and YAML host (minutes; `.ci/run` does it
// beforehand with `bot toolchain install`), later runs find them. It then deploys a YAML program
// with the CLI on a file backend.
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
		// The CLI as the engine runs it: the YAML host's directory and the CLI's own in front of PATH.
		path := strings.Join(append(append([]string(nil), tools.LanguageDirs...), filepath.Dir(tools.Pulumi), os.Getenv("PATH")),
			string(os.PathListSeparator))
		env := append(os.Environ(), "PATH="+path, "PULUMI_HOME="+t.TempDir(),
			"PULUMI_BACKEND_URL=file://"+filepath.ToSlash(t.TempDir()),
			"PULUMI_CONFIG_PASSPHRASE=test", "PULUMI_SKIP_UPDATE_CHECK=true")
		var log strings.Builder
		pulumi := func(args ...string) []byte {
			t.Helper()
			cmd := exec.CommandContext(ctx, tools.Pulumi, append([]string{"--non-interactive"}, args...)...)
			cmd.Dir, cmd.Env, cmd.Stderr = project, env, &log
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, log.String())
			}
			log.Write(out)
			return out
		}
		pulumi("stack", "init", "dev")
		pulumi("up", "--yes", "--stack", "dev")
		var outputs map[string]string
		if err := json.Unmarshal(pulumi("stack", "output", "--json", "--stack", "dev"), &outputs); err != nil {
			t.Fatalf("stack outputs: %v", err)
		}
		if outputs["greeting"] != "hello" || outputs["stack"] != "dev" {
			t.Errorf("outputs = %v", outputs)
		}
		if strings.Contains(log.String(), "warning") {
			t.Errorf("up printed a warning:\n%s", log.String())
		}
	})
}
