package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestREADME(t *testing.T) {
	t.Parallel()

	t.Run("the configuration reference lists every setting with its default, flag and the commands that read it", func(t *testing.T) {
		t.Parallel()
		doc := readme(t)
		for _, s := range config.Settings() {
			row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(s.Env) + "` \\| ([^|]*) \\|.*\\| ([^|]*) \\| ([^|]*) \\|$")
			m := row.FindStringSubmatch(doc)
			if m == nil {
				t.Errorf("README has no table row for %s with its flag and the commands that read it", s.Env)
				continue
			}
			if s.Default != "" && !strings.Contains(m[1], s.Default) {
				t.Errorf("README gives %s the default %q, the code %q", s.Env, strings.TrimSpace(m[1]), s.Default)
			}
			flag := "–"
			if s.Flag {
				flag = "`--" + s.FlagName() + "`"
			}
			if m[2] != flag {
				t.Errorf("README gives %s the flag %s, the code %s", s.Env, m[2], flag)
			}
			if want := strings.Join(s.Commands, ", "); m[3] != want {
				t.Errorf("README says %s is read by %q, the code %q", s.Env, m[3], want)
			}
		}
	})

	t.Run("the exit codes are documented", func(t *testing.T) {
		t.Parallel()
		doc := readme(t)
		for _, code := range []int{exitOK, exitProblems, exitUsage} {
			if !regexp.MustCompile(fmt.Sprintf("(?m)^\\| %d \\| ", code)).MatchString(doc) {
				t.Errorf("README's exit code table lacks %d", code)
			}
		}
	})

	t.Run("the annotated .stagecoach.yaml example is valid", func(t *testing.T) {
		t.Parallel()
		doc := readme(t)
		m := regexp.MustCompile("(?s)```yaml\n(# \\.stagecoach\\.yaml.*?)```").FindStringSubmatch(doc)
		if m == nil {
			t.Fatal("README has no annotated .stagecoach.yaml example")
		}
		if _, err := repoconfig.Parse("README.md", []byte(m[1])); err != nil {
			t.Fatalf("the README example does not validate:\n%v", err)
		}
		// The example in the README is the one repoconfig's tests prove covers every field.
		full, err := os.ReadFile("../../internal/repoconfig/testdata/example.stagecoach.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(m[1]) != strings.TrimSpace(string(full)) {
			t.Fatal("the README example differs from internal/repoconfig/testdata/example.stagecoach.yaml; copy it over")
		}
	})
}

func TestCIRunsTheREADMETestCommand(t *testing.T) {
	t.Parallel()
	doc := readme(t)
	m := regexp.MustCompile(`(?m)^(go vet [^#\n]*?)\s*#`).FindStringSubmatch(doc)
	if m == nil {
		t.Fatal("the README's quick start has no test command")
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\n"+strings.TrimSpace(m[1])+"\n") {
		t.Fatalf(".ci/run does not run the README's test command %q as a line of its own", m[1])
	}
}
