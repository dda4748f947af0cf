package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/testenv"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	if _, err := toolchain.Find(context.Background(), toolchain.Options{}); err != nil {
		testenv.SkipOrFail(t, "the Pulumi CLI is not installed (%v); run `bot toolchain install`", err)
	}
	t.Run("plays a pull request from opening to teardown and says GitHub is simulated", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"demo"}, func(string) string { return "" }, &out); err != nil {
			t.Fatalf("demo failed: %v\n%s", err, out.String())
		}
		text := out.String()
		for _, want := range []string{"GitHub is SIMULATED", "alice opens pull request #1", "**ready**",
			"https://pr-1.storefront.example.com", "edits its comment", "/preview of", "**destroyed**", ": inactive", "✔ done"} {
			if !strings.Contains(text, want) {
				t.Errorf("the demo's output lacks %q:\n%s", want, text)
			}
		}
		if strings.Count(text, "comments on #1") != 1 {
			t.Errorf("the bot wrote more than one comment:\n%s", text)
		}
	})
	t.Run("--help describes it", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"demo", "--help"}, func(string) string { return "" }, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "GitHub is simulated") {
			t.Fatalf("help = %s", out.String())
		}
	})
}
