package enginetest

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/stagecoach/stagecoach/internal/engine"
)

// Call is one operation a Fake received.
type Call struct {
	// Kind is preview, up, destroy, refresh, outputs, tags or set tags.
	Kind string
	// Stack is the fully qualified stack name.
	Stack string
	// Request is the request as given.
	Request engine.Request
}

// Fake stands in for *engine.Runner, with the same methods, in tests of code that drives stacks
// (ephemeral environments, promotions, schedules) where the real engine would be too slow. It keeps
// stacks in memory: Preview and Up create them and record their config and tags, Destroy removes them,
// and the other operations answer ErrStackNotFound for stacks that do not exist — as the Runner does.
// Short stack names are qualified as "organization/<project>/<stack>", a file backend's way.
type Fake struct {
	// OnOperation, when set before use, decides the Result of Preview, Up and Destroy (whose
	// Kind and Stack the Fake fills in). A non-nil error fails the operation with an *engine.OperationError
	// and leaves the stack as it was. Default: success with no changes.
	OnOperation func(kind engine.Kind, stack string, req engine.Request) (engine.Result, error)

	mu     sync.Mutex
	stacks map[string]*fakeStack
	calls  []Call
}

type fakeStack struct {
	project string
	config  map[string]engine.ConfigValue
	tags    map[string]string
	outputs map[string]engine.Output
}

// NewFake returns a Fake with no stacks.
func NewFake() *Fake { return &Fake{stacks: map[string]*fakeStack{}} }

// Preview records the call and creates the stack when missing.
func (f *Fake) Preview(ctx context.Context, req engine.Request) (engine.Result, error) {
	return f.operate(ctx, engine.KindPreview, req)
}

// Up records the call, creates the stack when missing and keeps the request's config and tags.
func (f *Fake) Up(ctx context.Context, req engine.Request) (engine.Result, error) {
	return f.operate(ctx, engine.KindUp, req)
}

// Destroy records the call and removes the stack; a missing stack is engine.ErrStackNotFound.
func (f *Fake) Destroy(ctx context.Context, req engine.Request) (engine.Result, error) {
	return f.operate(ctx, engine.KindDestroy, req)
}

// Tags returns the stack's tags.
func (f *Fake) Tags(_ context.Context, req engine.Request) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, _, err := f.existing("tags", req)
	if err != nil {
		return nil, err
	}
	return maps.Clone(s.tags), nil
}

// ListStacks lists the project's stacks having every tag in tags, sorted by name.
func (f *Fake) ListStacks(_ context.Context, project string, tags map[string]string) ([]engine.StackInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []engine.StackInfo
	for name, s := range f.stacks {
		if s.project != project {
			continue
		}
		match := true
		for k, v := range tags {
			if s.tags[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, engine.StackInfo{Name: name, Tags: maps.Clone(s.tags)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetOutputs sets the outputs of a stack (fully qualified name), creating it for project when missing.
func (f *Fake) SetOutputs(stack, project string, outputs map[string]engine.Output) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.stacks[stack]
	if !ok {
		s = &fakeStack{project: project, config: map[string]engine.ConfigValue{}, tags: map[string]string{}}
		f.stacks[stack] = s
	}
	s.outputs = maps.Clone(outputs)
}

// Calls returns every call so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Stacks returns the names of the stacks that exist, sorted.
func (f *Fake) Stacks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.stacks))
	for n := range f.stacks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Config returns the config the stack's last Preview or Up set.
func (f *Fake) Config(stack string) map[string]engine.ConfigValue {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.stacks[stack]; ok {
		return maps.Clone(s.config)
	}
	return nil
}

func (f *Fake) operate(ctx context.Context, kind engine.Kind, req engine.Request) (engine.Result, error) {
	if err := ctx.Err(); err != nil {
		return engine.Result{Kind: kind, Stack: req.Stack}, fmt.Errorf("%s of stack %s: %w", kind, req.Stack, err)
	}
	f.mu.Lock()
	name := qualify(req)
	f.calls = append(f.calls, Call{Kind: string(kind), Stack: name, Request: req})
	s, exists := f.stacks[name]
	f.mu.Unlock()
	if !exists && kind == engine.KindDestroy {
		return engine.Result{Kind: kind, Stack: name}, fmt.Errorf("%s: stack %s: %w", kind, name, engine.ErrStackNotFound)
	}

	res := engine.Result{Kind: kind, Stack: name, Counts: map[engine.Op]int{}, Succeeded: true}
	var err error
	if f.OnOperation != nil {
		res, err = f.OnOperation(kind, name, req)
		res.Kind, res.Stack, res.Succeeded = kind, name, err == nil
	}
	if err != nil {
		return res, &engine.OperationError{Result: res, Err: err}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	switch kind {
	case engine.KindPreview, engine.KindUp:
		if !exists {
			s = &fakeStack{project: project(req), config: map[string]engine.ConfigValue{}, tags: map[string]string{}}
			f.stacks[name] = s
		}
		maps.Copy(s.config, req.Config)
		maps.Copy(s.tags, req.Tags)
		if kind == engine.KindUp && res.Outputs == nil {
			res.Outputs = maps.Clone(s.outputs)
		}
	case engine.KindDestroy:
		delete(f.stacks, name)
	}
	return res, nil
}

// existing returns the request's stack or ErrStackNotFound, recording the call. f.mu is held.
func (f *Fake) existing(kind string, req engine.Request) (*fakeStack, string, error) {
	name := qualify(req)
	f.calls = append(f.calls, Call{Kind: kind, Stack: name, Request: req})
	s, ok := f.stacks[name]
	if !ok {
		return nil, name, fmt.Errorf("%s: stack %s: %w", kind, name, engine.ErrStackNotFound)
	}
	return s, name, nil
}

// project is the request's project: the inline or state-only name, the name in the directory's
// Pulumi.yaml, or the directory's name.
func project(req engine.Request) string {
	if req.Program.Dir == "" {
		return req.Program.Project
	}
	if b, err := os.ReadFile(filepath.Join(req.Program.Dir, "Pulumi.yaml")); err == nil {
		var p struct {
			Name string `yaml:"name"`
		}
		if yaml.Unmarshal(b, &p) == nil && p.Name != "" {
			return p.Name
		}
	}
	return filepath.Base(req.Program.Dir)
}

func qualify(req engine.Request) string {
	if strings.Count(req.Stack, "/") == 2 {
		return req.Stack
	}
	return "organization/" + project(req) + "/" + req.Stack
}
