package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// StackInfo describes one stack of a project, as ListStacks finds it.
type StackInfo struct {
	// Name is the fully qualified stack name (org/project/stack).
	Name string
	// Tags are the stack's tags, Pulumi's own (pulumi:project…) and stagecoach's.
	Tags map[string]string
	// LastUpdate is when the stack was last updated, as the backend reports it ("" if never).
	LastUpdate string
	// UpdateInProgress reports a lock on the stack.
	UpdateInProgress bool
	// ResourceCount is the number of resources in the stack's state.
	ResourceCount int
}

// Tags reads the stack's tags. A missing stack is ErrStackNotFound.
func (r *Runner) Tags(ctx context.Context, req Request) (map[string]string, error) {
	var tags map[string]string
	err := r.withStack(ctx, "tags", req, false, func(ctx context.Context, stack auto.Stack, m *masker) error {
		t, err := stack.ListTags(ctx)
		if err != nil {
			return plainly(ctx, m, "reading tags", err)
		}
		tags = t
		return nil
	})
	return tags, err
}

// withStack runs fn on the selected stack in its own workspace, holding an operation slot, and with
// locked also the stack's lease.
func (r *Runner) withStack(ctx context.Context, what string, req Request, locked bool,
	fn func(ctx context.Context, stack auto.Stack, m *masker) error,
) error {
	if err := req.validate(false); err != nil {
		return fmt.Errorf("%s of stack %s: %w: %w", what, req.Stack, ErrInvalidRequest, err)
	}
	w, err := r.newWorkspace(req)
	if err != nil {
		return fmt.Errorf("%s of stack %s: %w", what, req.Stack, err)
	}
	log := r.log.With("stack", w.stack, "operation", what)
	defer func() {
		if err := w.remove(); err != nil {
			log.Warn("cleaning up", "err", err)
		}
	}()
	if locked {
		lctx, unlock, err := r.lock(ctx, r.leaseKey(w.stack), log)
		if err != nil {
			return fmt.Errorf("%s of stack %s: %w", what, w.stack, err)
		}
		defer unlock()
		ctx = lctx
	}
	release, err := r.slot(ctx, log)
	if err != nil {
		return fmt.Errorf("%s of stack %s: %w", what, w.stack, err)
	}
	defer release()
	m := r.newMasker(req, w)
	stack, err := w.open(ctx, false, m)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := fn(ctx, stack, m); err != nil {
		return fmt.Errorf("%s of stack %s: %w", what, w.stack, err)
	}
	return nil
}

// ListStacks lists the stacks of project whose tags include every entry of tags (all stacks with no
// tags), sorted by name — for example every ephemeral environment of a repository, to sweep the stale ones.
func (r *Runner) ListStacks(ctx context.Context, project string, tags map[string]string) ([]StackInfo, error) {
	req := Request{Program: StateOnly(project), Stack: "list"}
	if err := req.validate(false); err != nil {
		return nil, fmt.Errorf("listing stacks: %w: %w", ErrInvalidRequest, err)
	}
	w, err := r.newWorkspace(req)
	if err != nil {
		return nil, fmt.Errorf("listing stacks of %s: %w", project, err)
	}
	log := r.log.With("project", project, "operation", "list stacks")
	defer func() {
		if err := w.remove(); err != nil {
			log.Warn("cleaning up", "err", err)
		}
	}()
	release, err := r.slot(ctx, log)
	if err != nil {
		return nil, fmt.Errorf("listing stacks of %s: %w", project, err)
	}
	defer release()
	ws, err := auto.NewLocalWorkspace(ctx, append(w.opts, auto.WorkDir(w.workDir), auto.Program(w.program.Run),
		auto.Project(workspace.Project{Name: tokens.PackageName(project), Runtime: workspace.NewProjectRuntimeInfo("go", nil)}))...)
	if err != nil {
		return nil, fmt.Errorf("listing stacks of %s: %w", project, err)
	}
	args := []string{"stack", "ls", "--json", "--all", "--fully-qualify-stack-names", "--project", project}
	names := make([]string, 0, len(tags))
	for k := range tags {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > 0 {
		// The CLI filters by one tag; the others are checked below.
		args = append(args, "--tag", names[0]+"="+tags[names[0]])
	}
	stdout, stderr, _, err := r.cmd.Run(ctx, w.workDir, nil, nil, nil, r.environ(), args...)
	if err != nil {
		return nil, fmt.Errorf("listing stacks of %s: %w: %s", project, err, r.newMasker(req, w).mask(strings.TrimSpace(stderr)))
	}
	var summaries []auto.StackSummary
	if err := json.Unmarshal([]byte(stdout), &summaries); err != nil {
		return nil, fmt.Errorf("listing stacks of %s: reading the CLI's answer: %w", project, err)
	}
	var out []StackInfo
	for _, s := range summaries {
		st, err := ws.ListTags(ctx, s.Name)
		if err != nil {
			return nil, plainly(ctx, r.newMasker(req, w), fmt.Sprintf("listing stacks of %s: reading the tags of %s", project, s.Name), err)
		}
		if !hasTags(st, tags) {
			continue
		}
		info := StackInfo{Name: s.Name, Tags: st, LastUpdate: s.LastUpdate, UpdateInProgress: s.UpdateInProgress}
		if s.ResourceCount != nil {
			info.ResourceCount = *s.ResourceCount
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	log.Debug("listed stacks", "count", len(out))
	return out, nil
}

// environ is the workspace environment as a list, for CLI calls outside a workspace.
func (r *Runner) environ() []string {
	env := []string{"PULUMI_HOME=" + r.cfg.PulumiHome}
	for k, v := range r.env {
		env = append(env, k+"="+v)
	}
	return env
}

func hasTags(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
