package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

func TestOPERATIONS(t *testing.T) {
	t.Parallel()
	read := func(t *testing.T, name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ops := read(t, "OPERATIONS.md")

	t.Run("every metric it or the README names exists, and it explains every metric there is", func(t *testing.T) {
		t.Parallel()
		defined := definedMetrics(t)
		if len(defined) < 5 {
			t.Fatalf("found only %v in the code; the scan is broken", defined)
		}
		for _, doc := range []string{"OPERATIONS.md", "README.md"} {
			for _, name := range regexp.MustCompile(`stagecoach_[a-z_]+[a-z]`).FindAllString(read(t, doc), -1) {
				base := name
				for _, suffix := range []string{"_count", "_sum", "_bucket"} {
					if trimmed, ok := strings.CutSuffix(name, suffix); ok && defined[trimmed] {
						base = trimmed
					}
				}
				if !defined[base] {
					t.Errorf("%s names %s, which no code defines", doc, name)
				}
			}
		}
		for name := range defined {
			if !regexp.MustCompile("(?m)^\\| `" + name + "[{`]").MatchString(ops) {
				t.Errorf("OPERATIONS.md's metric table has no row for %s", name)
			}
		}
	})

	t.Run("every setting it names exists", func(t *testing.T) {
		t.Parallel()
		known := map[string]bool{}
		for _, s := range config.Settings() {
			known[s.Env] = true
		}
		for _, name := range regexp.MustCompile(`\b(STAGECOACH|PULUMI_CONFIG)_[A-Z_]*[A-Z]`).FindAllString(ops, -1) {
			if !known[name] {
				t.Errorf("OPERATIONS.md names the setting %s, which internal/config does not know", name)
			}
		}
	})

	t.Run("every bot command it names exists", func(t *testing.T) {
		t.Parallel()
		for _, m := range regexp.MustCompile("`bot ([a-z]+(?: install)?)").FindAllStringSubmatch(ops, -1) {
			args := append(strings.Fields(m[1]), "--help")
			if err := run(t.Context(), args, func(string) string { return "" }, io.Discard); err != nil {
				t.Errorf("OPERATIONS.md names `bot %s`: %v", m[1], err)
			}
		}
	})

	t.Run("the tests it cites exist", func(t *testing.T) {
		t.Parallel()
		for _, m := range regexp.MustCompile("`(internal/[a-z/]+)`'s `(Test[A-Za-z]+)`").FindAllStringSubmatch(ops, -1) {
			files, _ := filepath.Glob(filepath.Join("..", "..", m[1], "*_test.go"))
			found := false
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err == nil && strings.Contains(string(b), "func "+m[2]+"(") {
					found = true
				}
			}
			if !found {
				t.Errorf("OPERATIONS.md cites %s in %s, which is not there", m[2], m[1])
			}
		}
	})

	t.Run("the README links it and SECURITY.md, and its links lead somewhere", func(t *testing.T) {
		t.Parallel()
		doc := readme(t)
		for _, link := range []string{"(OPERATIONS.md)", "(SECURITY.md)"} {
			if !strings.Contains(doc, link) {
				t.Errorf("the README does not link %s", link)
			}
		}
		for _, m := range regexp.MustCompile(`\]\(([A-Za-z]+\.md)\)`).FindAllStringSubmatch(ops, -1) {
			if _, err := os.Stat(filepath.Join("..", "..", m[1])); err != nil {
				t.Errorf("OPERATIONS.md links %s: %v", m[1], err)
			}
		}
	})
}

// definedMetrics scans the non-test Go files under internal/ for the names of Prometheus metrics:
// the Name of a prometheus options literal, or the first argument of prometheus.NewDesc.
func definedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	metric := regexp.MustCompile(`^"stagecoach_[a-z_]+"$`)
	add := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING && metric.MatchString(lit.Value) {
			names[strings.Trim(lit.Value, `"`)] = true
		}
	}
	err := filepath.WalkDir(filepath.Join("..", "..", "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.KeyValueExpr:
				if key, ok := n.Key.(*ast.Ident); ok && key.Name == "Name" {
					add(n.Value)
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && len(n.Args) > 0 {
					add(n.Args[0])
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
