// Package testenv decides what a test does when something it needs from the machine is missing
// (the Pulumi CLI, Postgres, a browser): skip on a developer's machine, fail in CI. CI sets
// STAGECOACH_REQUIRE_TOOLS, so a missing tool there is a red build, never a silent skip.
package testenv

import (
	"os"
	"testing"
)

// EnvRequireTools names the variable that turns missing-tool skips into failures.
const EnvRequireTools = "STAGECOACH_REQUIRE_TOOLS"

// Required reports whether missing tools fail tests instead of skipping them.
func Required() bool { return os.Getenv(EnvRequireTools) != "" }

// SkipOrFail skips t with the message, or fails it when tools are required.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf("required tool missing ("+EnvRequireTools+" is set): "+format, args...)
	}
	t.Skipf(format, args...)
}
