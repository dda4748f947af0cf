// Package deploy_test checks that the shipped image keeps the isolation SECURITY.md promises: every
// Pulumi process runs as an unprivileged user of its own, and nothing that user can read holds a
// secret. The image itself cannot be built on the development machines (no Docker engine); these
// tests read the Dockerfile as written. The Helm chart's tests are in chart/ (a module of its own).
package deploy_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestImageRunsPulumiAsItsOwnUser(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	runtime := string(b)[strings.LastIndex(string(b), "\nFROM "):] // the runtime stage
	if m := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindStringSubmatch(runtime); m != nil && m[1] != "root" && m[1] != "0" {
		t.Errorf("the runtime stage runs as %q: the bot must be root to run Pulumi as another user", m[1])
	}
	if !regexp.MustCompile(`STAGECOACH_PULUMI_USER=pulumi\b`).MatchString(runtime) {
		t.Error("the image does not set STAGECOACH_PULUMI_USER=pulumi")
	}
	if !regexp.MustCompile(`useradd --uid 10002\b.* pulumi\b`).MatchString(runtime) {
		t.Error("the image does not create the pulumi user (uid 10002)")
	}
}
