package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/engine"
)

func TestConfigFile(t *testing.T) {
	t.Parallel()
	write := func(t *testing.T, body string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Pulumi.pr.yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("plain values are copied", func(t *testing.T) {
		t.Parallel()
		got, err := engine.ConfigFile(write(t, "config:\n  app:size: small\n  app:replicas: 2\n"), "Pulumi.pr.yaml")
		if err != nil || got["app:size"].Value != "small" || got["app:replicas"].Value != "2" {
			t.Fatalf("config = %v, %v", got, err)
		}
	})
	t.Run("secure values are refused with a reason", func(t *testing.T) {
		t.Parallel()
		_, err := engine.ConfigFile(write(t, "config:\n  app:key:\n    secure: AAAB\n"), "Pulumi.pr.yaml")
		if err == nil || !strings.Contains(err.Error(), "secure value (app:key)") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a missing template is no config", func(t *testing.T) {
		t.Parallel()
		got, err := engine.ConfigFile(t.TempDir(), "Pulumi.pr.yaml")
		if err != nil || len(got) != 0 {
			t.Fatalf("config = %v, %v", got, err)
		}
	})
}
