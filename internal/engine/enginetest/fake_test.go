package enginetest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stagecoach/stagecoach/internal/engine"
	"github.com/stagecoach/stagecoach/internal/engine/enginetest"
)

// stackRunner is every method of *engine.Runner that drives stacks; the Fake must keep up with it.
type stackRunner interface {
	Preview(context.Context, engine.Request) (engine.Result, error)
	Up(context.Context, engine.Request) (engine.Result, error)
	Destroy(context.Context, engine.Request) (engine.Result, error)
	Tags(context.Context, engine.Request) (map[string]string, error)
	ListStacks(context.Context, string, map[string]string) ([]engine.StackInfo, error)
}

var (
	_ stackRunner = (*engine.Runner)(nil)
	_ stackRunner = (*enginetest.Fake)(nil)
)

func TestFakeKeepsStacksLikeTheRunner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: shop\nruntime: yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := enginetest.NewFake()
	req := engine.Request{Program: engine.LocalProgram(dir), Stack: "pr-3",
		Config: map[string]engine.ConfigValue{"size": {Value: "small"}}, Tags: map[string]string{engine.TagPR: "3"}}

	if _, err := f.Destroy(ctx, req); !errors.Is(err, engine.ErrStackNotFound) {
		t.Errorf("Destroy of a missing stack = %v, want ErrStackNotFound", err)
	}
	res, err := f.Up(ctx, req)
	if err != nil || res.Stack != "organization/shop/pr-3" || !res.Succeeded {
		t.Fatalf("Up = %+v, %v", res, err)
	}
	if got := f.Config("organization/shop/pr-3")["size"].Value; got != "small" {
		t.Errorf("config size = %q", got)
	}
	found, _ := f.ListStacks(ctx, "shop", map[string]string{engine.TagPR: "3"})
	if len(found) != 1 || found[0].Name != "organization/shop/pr-3" {
		t.Errorf("ListStacks = %+v", found)
	}

	f.OnOperation = func(kind engine.Kind, stack string, _ engine.Request) (engine.Result, error) {
		if kind == engine.KindDestroy {
			return engine.Result{Errors: []string{"provider said no"}}, errors.New("exit status 1")
		}
		return engine.Result{}, nil
	}
	var opErr *engine.OperationError
	if _, err := f.Destroy(ctx, engine.Request{Program: engine.StateOnly("shop"), Stack: "pr-3"}); !errors.As(err, &opErr) ||
		opErr.Result.Succeeded || !slices.Equal(f.Stacks(), []string{"organization/shop/pr-3"}) {
		t.Errorf("failing Destroy = %v, stacks %q; want an OperationError and the stack kept", err, f.Stacks())
	}
	f.OnOperation = nil
	if _, err := f.Destroy(ctx, engine.Request{Program: engine.StateOnly("shop"), Stack: "pr-3"}); err != nil || len(f.Stacks()) != 0 {
		t.Errorf("Destroy = %v, stacks %q", err, f.Stacks())
	}
	var kinds []string
	for _, c := range f.Calls() {
		kinds = append(kinds, c.Kind)
	}
	if want := []string{"destroy", "up", "destroy", "destroy"}; !slices.Equal(kinds, want) {
		t.Errorf("calls = %q, want %q", kinds, want)
	}
}
