package enginetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/engine"
)

// secretSig marks a secret value in Pulumi's state files.
const secretSig = "4dabf18193072939515e22adb298388d"

// StateOutputs reads the outputs of a project's stack (short name) from the state a file:// backend
// keeps at backendURL, without running the engine, as the Runner reports them: strings as they are,
// other values as JSON, secrets as "[secret]". A stack with no state fails the test.
func StateOutputs(t testing.TB, backendURL, project, stack string) map[string]engine.Output {
	t.Helper()
	dir, ok := strings.CutPrefix(backendURL, "file://")
	if !ok {
		t.Fatalf("StateOutputs reads file:// backends only, not %s", backendURL)
	}
	path := filepath.Join(filepath.FromSlash(dir), ".pulumi", "stacks", project, stack+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the state of %s/%s: %v", project, stack, err)
	}
	var state struct {
		Checkpoint struct {
			Latest struct {
				Resources []struct {
					Type    string                     `json:"type"`
					Outputs map[string]json.RawMessage `json:"outputs"`
				} `json:"resources"`
			} `json:"latest"`
		} `json:"checkpoint"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatalf("decoding the state in %s: %v", path, err)
	}
	out := map[string]engine.Output{}
	for _, r := range state.Checkpoint.Latest.Resources {
		if r.Type != "pulumi:pulumi:Stack" {
			continue
		}
		for k, raw := range r.Outputs {
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatalf("decoding output %s in %s: %v", k, path, err)
			}
			if m, ok := v.(map[string]any); ok && m[secretSig] != nil {
				out[k] = engine.Output{Value: "[secret]", Secret: true}
				continue
			}
			if s, ok := v.(string); ok {
				out[k] = engine.Output{Value: s}
				continue
			}
			out[k] = engine.Output{Value: strings.TrimSpace(string(raw))}
		}
	}
	return out
}
