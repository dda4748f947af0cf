package engine

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := Config{
		PulumiCommand: "/opt/pulumi/pulumi",
		BackendURL:    "file:///var/lib/stagecoach/state",
		Passphrase:    "p",
		PulumiHome:    "/var/lib/stagecoach/pulumi-home",
		WorkDir:       "/var/lib/stagecoach/work",
	}
	t.Run("a complete config is valid and gets defaults", func(t *testing.T) {
		if err := good.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		d := good.withDefaults()
		if d.SecretsProvider != "passphrase" || d.MaxConcurrent != 2 || d.LeaseTTL != 2*time.Minute ||
			d.LeasePoll != 2*time.Second || d.CancelGrace != 10*time.Second || d.Organization != "organization" {
			t.Errorf("defaults = %+v", d)
		}
	})
	t.Run("a cloud backend with a KMS provider needs no passphrase and no organization", func(t *testing.T) {
		c := good
		c.BackendURL, c.SecretsProvider, c.Passphrase = "https://api.pulumi.com", "awskms://alias/stagecoach", ""
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		if org := c.withDefaults().Organization; org != "" {
			t.Errorf("organization = %q, want none for Pulumi Cloud", org)
		}
	})
	t.Run("every problem is reported at once", func(t *testing.T) {
		bad := Config{
			PulumiCommand:   "pulumi",
			LanguageDirs:    []string{"bin"},
			BackendURL:      "file://relative/state",
			SecretsProvider: "vault",
			PulumiHome:      "home",
			MaxConcurrent:   -1,
			LeaseTTL:        time.Second,
			Env:             map[string]string{"PULUMI_CONFIG_PASSPHRASE": "x", "A=B": "c"},
		}
		err := bad.Validate()
		if err == nil {
			t.Fatal("Validate accepted a bad config")
		}
		for _, want := range []string{
			`pulumi command "pulumi" must be an absolute path`,
			`language dir "bin"`,
			`file backend URL "file://relative/state" must name an absolute directory`,
			`secrets provider "vault"`,
			`pulumi home "home"`,
			`work dir ""`,
			`max concurrent operations -1`,
			`lease TTL 1s is too short`,
			`env may not set PULUMI_CONFIG_PASSPHRASE`,
			`env variable name "A=B" is invalid`,
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
	t.Run("the passphrase provider needs a passphrase", func(t *testing.T) {
		c := good
		c.Passphrase = ""
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "passphrase is required") {
			t.Errorf("Validate = %v", err)
		}
	})
}

func TestBackendKeyHidesCredentials(t *testing.T) {
	t.Parallel()
	c := Config{BackendURL: "postgres://bot:hunter22@db:5432/pulumi?sslmode=require"}
	if k := c.backendKey(); strings.Contains(k, "hunter22") || strings.Contains(k, "sslmode") || k != "postgres://db:5432/pulumi" {
		t.Errorf("backendKey = %q", k)
	}
}
