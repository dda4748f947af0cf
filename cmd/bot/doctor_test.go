package main

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/githubsim"
	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func TestDoctor(t *testing.T) {
	t.Parallel()
	sim, err := githubsim.New(githubsim.Options{AppSlug: "stagecoach-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	env := func(t *testing.T) map[string]string {
		dir := t.TempDir()
		return map[string]string{
			"STAGECOACH_DATA_DIR":           dir,
			"STAGECOACH_WEBHOOK_SECRET":     "s",
			"PULUMI_CONFIG_PASSPHRASE":      "p",
			"STAGECOACH_GITHUB_APP_ID":      strconv.FormatInt(sim.AppID(), 10),
			"STAGECOACH_GITHUB_PRIVATE_KEY": string(sim.AppPrivateKeyPEM()),
			"STAGECOACH_GITHUB_API_URL":     sim.URL(),
		}
	}

	t.Run("a complete setup passes every check", func(t *testing.T) {
		t.Parallel()
		tools, err := toolchain.Find(t.Context(), toolchain.Options{})
		if err != nil {
			testenv.SkipOrFail(t, "no Pulumi CLI here (run `go run ./cmd/bot toolchain install`): %v", err)
		}
		e := env(t)
		e["STAGECOACH_PULUMI_COMMAND"] = tools.Pulumi
		out, err := runCmd(t, e, "doctor")
		if err != nil {
			t.Fatalf("doctor failed: %v\n%s", err, out)
		}
		for _, want := range []string{"✓ Pulumi CLI", "✓ database", `authenticated as "stagecoach-test"`, "✓ webhook secret"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("a machine without the CLI fails with a fix", func(t *testing.T) {
		t.Parallel()
		e := env(t)
		e["STAGECOACH_PULUMI_COMMAND"] = filepath.Join(t.TempDir(), "no-pulumi-here")
		out, err := runCmd(t, e, "doctor")
		if !errors.Is(err, errReported) {
			t.Fatalf("err = %v, want exit 1", err)
		}
		if !strings.Contains(out, "✗ Pulumi CLI") || !strings.Contains(out, "fix:") {
			t.Fatalf("output:\n%s", out)
		}
	})

	t.Run("a key that does not belong to the App is caught", func(t *testing.T) {
		t.Parallel()
		other, err := githubsim.New(githubsim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		e := env(t)
		e["STAGECOACH_GITHUB_PRIVATE_KEY"] = string(other.AppPrivateKeyPEM())
		out, _ := runCmd(t, e, "doctor")
		if !strings.Contains(out, "✗ GitHub API") {
			t.Fatalf("output:\n%s", out)
		}
	})
}
