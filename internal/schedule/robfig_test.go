package schedule_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestRobfigCronOnlyThroughItsPublicAPI keeps robfig/cron's schedule internals (the
// SpecSchedule type and its bitfields) out of the code that evaluates specs: only its
// parser and Schedule.Next are used, as the package documentation explains.
func TestRobfigCronOnlyThroughItsPublicAPI(t *testing.T) {
	t.Parallel()
	var files []string
	for _, dir := range []string{".", "../repoconfig"} {
		matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "cron" && sel.Sel.Name == "SpecSchedule" {
					t.Errorf("%s uses cron.SpecSchedule, robfig/cron's internal representation", fset.Position(sel.Pos()))
				}
			}
			return true
		})
	}
}
