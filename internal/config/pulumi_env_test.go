package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/engine"
)

func TestPulumiEnvAndUser(t *testing.T) {
	t.Parallel()
	load := func(env map[string]string) config.Config {
		t.Helper()
		c, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("the default is the engine's", func(t *testing.T) {
		t.Parallel()
		if got := load(nil).Pulumi.Env; !slices.Equal(got, engine.DefaultInheritEnv) {
			t.Errorf("default STAGECOACH_PULUMI_ENV = %q, engine default %q", got, engine.DefaultInheritEnv)
		}
	})
	t.Run("a list, and none", func(t *testing.T) {
		t.Parallel()
		if got := load(map[string]string{"STAGECOACH_PULUMI_ENV": "AWS_*, KUBECONFIG"}).Pulumi.Env; !slices.Equal(got, []string{"AWS_*", "KUBECONFIG"}) {
			t.Errorf("Env = %q", got)
		}
		if got := load(map[string]string{"STAGECOACH_PULUMI_ENV": "none"}).Pulumi.Env; got == nil || len(got) != 0 {
			t.Errorf("none = %#v, want an empty non-nil list", got)
		}
	})
	t.Run("bad globs and root are refused", func(t *testing.T) {
		t.Parallel()
		c := load(map[string]string{"STAGECOACH_PULUMI_ENV": "AWS_[", "STAGECOACH_PULUMI_USER": "root"})
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "STAGECOACH_PULUMI_ENV") || !strings.Contains(err.Error(), "STAGECOACH_PULUMI_USER") {
			t.Errorf("Validate = %v, want both settings named", err)
		}
		if c := load(map[string]string{"STAGECOACH_PULUMI_USER": "pulumi"}); c.Pulumi.User != "pulumi" || c.Validate() != nil {
			t.Errorf("user pulumi: %q, %v", c.Pulumi.User, c.Validate())
		}
	})
}
