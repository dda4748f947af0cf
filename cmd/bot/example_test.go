package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/examples"
	"github.com/stagecoach/stagecoach/internal/stackkeys"
)

func TestMinimalExample(t *testing.T) {
	t.Parallel()

	t.Run("bot config validate passes on its .stagecoach.yaml and finds promotions off", func(t *testing.T) {
		t.Parallel()
		out, err := runCmd(t, nil, "config", "validate", filepath.Join("..", "..", "examples", "minimal", ".stagecoach.yaml"), "-o", "json")
		if err != nil || !strings.Contains(out, `"valid": true`) || !strings.Contains(out, `"environments": []`) {
			t.Fatalf("err = %v, output:\n%s", err, out)
		}
	})

	t.Run("the README's first PR environment names every file of the example and every key the bot sets", func(t *testing.T) {
		t.Parallel()
		doc := readme(t)
		_, section, ok := strings.Cut(doc, "\n## Your first PR environment\n")
		if !ok {
			t.Fatal(`README has no section "Your first PR environment"`)
		}
		section, _, _ = strings.Cut(section, "\n## ")
		files, err := examples.Minimal()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := files["README.md"]; !ok {
			t.Error("examples/minimal has no README.md")
		}
		wants := []string{"bot setup --public-url", "(examples/minimal)", "bot config validate"}
		for name := range files {
			if name != "README.md" {
				wants = append(wants, "`"+filepath.Base(name)+"`")
			}
		}
		for _, k := range stackkeys.All() {
			if k != stackkeys.Sleeping { // the example's README covers schedules; the first environment has none
				wants = append(wants, "`"+k+"`")
			}
		}
		slices.Sort(wants)
		for _, want := range wants {
			if !strings.Contains(section, want) {
				t.Errorf("README's first PR environment lacks %s", want)
			}
		}
	})
}
