package complexity

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// The counting rules are gocyclo v0.6.0's; the cases are those of its own tests.
func TestCountsAsGocycloDoes(t *testing.T) {
	t.Parallel()
	src := `package p

type S struct{}
type G[K any] struct{}

func straight() {}

func ifElse(a bool) {
	if a {
	} else if !a {
	} else {
	}
}

func loops(xs []int) {
	for i := 0; i < 1; i++ {
	}
	for range xs {
	}
	for {
		break
	}
}

func cases(x int) {
	switch x {
	case 1, 2:
	case 3:
	default:
	}
	switch v := any(x).(type) {
	case int:
		_ = v
	}
}

func comms(c chan int) {
	select {
	case <-c:
	case c <- 1:
	default:
	}
}

func operators(a, b, c bool) bool { return a && b || c && !a }

func literal() {
	f := func(a bool) {
		if a {
		}
	}
	f(true)
}

var lit = func(a bool) bool { return a || !a }

var notAFunc = 1

func (S) value(a bool)    { if a {} }
func (*S) pointer()       {}
func (G[K]) generic()     {}
func (*G[K]) genericPtr() {}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"straight": 1, "ifElse": 3, "loops": 4, "cases": 4, "comms": 3, "operators": 4, "literal": 2, "lit": 2,
		"(S).value": 2, "(*S).pointer": 1, "(G).generic": 1, "(*G).genericPtr": 1,
	}
	got := File(fset, f)
	if len(got) != len(want) {
		t.Errorf("measured %d functions, want %d: %v", len(got), len(want), got)
	}
	for _, fn := range got {
		w, ok := want[fn.Name]
		switch {
		case !ok:
			t.Errorf("measured %q, which is not a function", fn.Name)
		case fn.Complexity != w:
			t.Errorf("%s: complexity %d, want %d", fn.Name, fn.Complexity, w)
		}
		if fn.Package != "p" || fn.Pos.Filename != "p.go" || fn.Pos.Line == 0 {
			t.Errorf("%s: placed at %s in package %q", fn.Name, fn.Pos, fn.Package)
		}
	}
}

func TestDirSkipsTestsAndSortsHighestFirst(t *testing.T) {
	t.Parallel()
	got, err := Dir("testdata/dir")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, f.String())
	}
	want := "3 dir two testdata/dir/a.go:7:1\n1 dir one testdata/dir/a.go:3:1"
	if s := strings.Join(names, "\n"); s != want {
		t.Errorf("Dir:\n%s\nwant:\n%s", s, want)
	}
	if _, err := Dir("testdata/none"); err == nil {
		t.Error("Dir of a folder without Go files: no error, want one (a mistyped package path must not pass the bound)")
	}
}
