// Package complexity measures the cyclomatic complexity of Go functions, counted as
// github.com/fzipp/gocyclo v0.6.0 counts it, so the figures match what that tool prints: 1, plus one
// for each if, for, range, non-default case or select clause, && and ||. A function literal
// counts toward the function it is written in. gocyclo's `//gocyclo:ignore` directive has no
// effect here: the bound has no escape hatch.
package complexity

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Func is one function's figure.
type Func struct {
	Package    string // the package clause's name
	Name       string // "Name", "(Type).Name" or "(*Type).Name"; a package-level variable's name for a function literal
	Pos        token.Position
	Complexity int
}

// String renders f as gocyclo does: "33 ephemeral (*Service).reconcile internal/ephemeral/worker.go:102:1".
func (f Func) String() string {
	return fmt.Sprintf("%d %s %s %s", f.Complexity, f.Package, f.Name, f.Pos)
}

// Of returns the cyclomatic complexity of a *ast.FuncDecl or *ast.FuncLit.
func Of(fn ast.Node) int {
	n := 1
	ast.Inspect(fn, func(node ast.Node) bool {
		switch node := node.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			n++
		case *ast.CaseClause:
			if node.List != nil { // default
				n++
			}
		case *ast.CommClause:
			if node.Comm != nil { // default
				n++
			}
		case *ast.BinaryExpr:
			if node.Op == token.LAND || node.Op == token.LOR {
				n++
			}
		}
		return true
	})
	return n
}

// File returns the figure of every function declared in a parsed file: functions, methods and
// function literals assigned to package-level variables.
func File(fset *token.FileSet, f *ast.File) []Func {
	var out []Func
	add := func(node ast.Node, name string) {
		out = append(out, Func{Package: f.Name.Name, Name: name, Pos: fset.Position(node.Pos()), Complexity: Of(node)})
	}
	for _, decl := range f.Decls {
		switch decl := decl.(type) {
		case *ast.FuncDecl:
			add(decl, funcName(decl))
		case *ast.GenDecl:
			for _, spec := range decl.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for _, v := range vs.Values {
					if lit, ok := v.(*ast.FuncLit); ok {
						add(lit, vs.Names[0].Name)
					}
				}
			}
		}
	}
	return out
}

// Dir returns the figures of the non-test Go files directly in dir (not its subdirectories),
// highest first.
func Dir(dir string) ([]Func, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("measuring %s: no Go files there", dir)
	}
	fset := token.NewFileSet()
	var out []Func
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		f, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", p, err)
		}
		out = append(out, File(fset, f)...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Complexity > out[j].Complexity })
	return out, nil
}

// funcName names a declaration as gocyclo does.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	return fmt.Sprintf("(%s).%s", recvString(fn.Recv.List[0].Type), fn.Name.Name)
}

// recvString renders a receiver type as gocyclo does: T, *T, T[K] and *T[K] become T, *T, T and *T.
func recvString(t ast.Expr) string {
	switch t := t.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.StarExpr:
		return "*" + recvString(t.X)
	case *ast.IndexExpr:
		return recvString(t.X)
	case *ast.IndexListExpr:
		return recvString(t.X)
	}
	return "BADRECV"
}
