package complexity

import (
	"path"
	"path/filepath"
	"testing"
)

// Bound is the highest cyclomatic complexity a function of the features may have (issue 18): a
// function above it is split, its decisions into pure functions with their own tests.
const Bound = 20

// features are the packages the bound holds in, relative to the repository root.
var features = []string{
	"internal/ephemeral",
	"internal/promotion",
	"internal/schedule",
	"internal/webhooks",
	"internal/command",
	"internal/event",
	"internal/configcheck",
	"internal/feature",
}

func TestFeaturesStayWithinTheComplexityBound(t *testing.T) {
	t.Parallel()
	for _, pkg := range features {
		funcs, err := Dir(filepath.Join("..", "..", pkg))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range funcs {
			if f.Complexity > Bound {
				t.Errorf("%s:%d: %s %s: complexity %d, above %d; move its decisions into smaller functions, with tests",
					path.Join(pkg, filepath.Base(f.Pos.Filename)), f.Pos.Line, f.Package, f.Name, f.Complexity, Bound)
			}
		}
	}
}
