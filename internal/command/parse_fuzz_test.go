package command_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stagecoach/stagecoach/internal/command"
)

// FuzzParse: any comment body parses without panicking, and a command is one lowercase word
// from the first line with whitespace-free arguments.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"/deploy", "/stagecoach promote staging", "/Stagecoach", "  /destroy now\nmore",
		"looks good", "/", "/ deploy", "/stagecoach /sleep dev 2h", "\u00a0/deploy", "/DEPLOY\u2028x", "/stagecoach\t\t"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		name, args, ok := command.Parse(body)
		if !ok {
			if name != "" || args != nil {
				t.Fatalf("not a command, but name %q args %q", name, args)
			}
			return
		}
		first, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
		if name == "" || strings.ContainsFunc(name, unicode.IsSpace) || strings.Contains(name, "\n") {
			t.Fatalf("name %q from %q", name, body)
		}
		if name != strings.ToLower(name) {
			t.Fatalf("name %q is not lowercase", name)
		}
		for _, a := range args {
			if a == "" || strings.ContainsFunc(a, unicode.IsSpace) || !strings.Contains(first, a) {
				t.Fatalf("argument %q from %q", a, body)
			}
		}
	})
}
