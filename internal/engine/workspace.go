package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// opWorkspace is the private working directory of one operation (pulumi/pulumi#8186: operations that
// share a workspace directory corrupt each other's "current stack"). It is removed when the operation ends.
type opWorkspace struct {
	root    string // the directory removed at the end
	workDir string // the directory holding Pulumi.yaml
	project string
	stack   string // the stack name given to the CLI
	program Program
	opts    []auto.LocalWorkspaceOption
}

// newWorkspace prepares an operation's directory: a copy of a local project, or an empty directory
// for an inline program. Nothing runs Pulumi yet.
func (r *Runner) newWorkspace(req Request) (w *opWorkspace, err error) {
	root, err := os.MkdirTemp(r.cfg.WorkDir, "op-")
	if err != nil {
		return nil, fmt.Errorf("creating the operation directory: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(root)
		}
	}()
	w = &opWorkspace{root: root, workDir: root, program: req.Program}
	w.opts = []auto.LocalWorkspaceOption{
		auto.Pulumi(r.cmd),
		auto.PulumiHome(r.cfg.PulumiHome),
		auto.EnvVars(r.env),
		auto.SecretsProvider(r.cfg.SecretsProvider),
	}
	if req.Program.Dir != "" {
		w.workDir = filepath.Join(root, "project")
		if err := copyTree(req.Program.Dir, w.workDir); err != nil {
			return nil, fmt.Errorf("copying the project: %w", err)
		}
		w.project, err = ProjectName(w.workDir)
		if err != nil {
			return nil, err
		}
	} else {
		w.project = req.Program.Project
		if req.Program.Run == nil {
			// State-only: a program that is never run (Preview and Up refuse it), so Destroy needs no
			// language host.
			w.program.Run = func(*pulumi.Context) error {
				return errors.New("this stack was opened without its program")
			}
		}
	}
	w.stack, err = r.qualify(req.Stack, w.project)
	if err != nil {
		return nil, err
	}
	if err := r.runAs.own(root); err != nil {
		return nil, err
	}
	return w, nil
}

// open selects the stack, or with create also creates it when missing. A missing stack is ErrStackNotFound.
func (w *opWorkspace) open(ctx context.Context, create bool, m *masker) (auto.Stack, error) {
	var (
		s   auto.Stack
		err error
	)
	switch {
	case w.program.Dir != "" && create:
		s, err = auto.UpsertStackLocalSource(ctx, w.stack, w.workDir, w.opts...)
	case w.program.Dir != "":
		s, err = auto.SelectStackLocalSource(ctx, w.stack, w.workDir, w.opts...)
	case create:
		s, err = auto.UpsertStackInlineSource(ctx, w.stack, w.project, w.program.Run, append(w.opts, auto.WorkDir(w.workDir))...)
	default:
		s, err = auto.SelectStackInlineSource(ctx, w.stack, w.project, w.program.Run, append(w.opts, auto.WorkDir(w.workDir))...)
	}
	if err != nil {
		if isSelectStack404(err) {
			return s, fmt.Errorf("stack %s: %w", w.stack, ErrStackNotFound)
		}
		return s, plainly(ctx, m, "opening stack "+w.stack, err)
	}
	return s, nil
}

// remove deletes the operation's directory.
func (w *opWorkspace) remove() error {
	if err := os.RemoveAll(w.root); err != nil {
		return fmt.Errorf("removing the operation directory: %w", err)
	}
	return nil
}

// qualify turns a short stack name into org/project/stack when an organization is configured, and checks
// that a fully qualified name belongs to the program's project.
func (r *Runner) qualify(stack, project string) (string, error) {
	parts := strings.Split(stack, "/")
	if len(parts) == 3 {
		if parts[1] != project {
			return "", fmt.Errorf("%w: stack %s names project %q but the program is project %q", ErrInvalidRequest, stack, parts[1], project)
		}
		return stack, nil
	}
	if r.cfg.Organization == "" {
		return stack, nil
	}
	return r.cfg.Organization + "/" + project + "/" + stack, nil
}

// copyTree copies the directory src to dst (which must not exist): directories, regular files with their
// permission bits, and symbolic links that stay inside src. Anything else is an error.
func copyTree(src, dst string) error {
	src = filepath.Clean(src)
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			return os.MkdirAll(target, 0o755)
		case mode.IsRegular():
			return copyFile(path, target, mode.Perm())
		case mode&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			resolved := filepath.Join(filepath.Dir(path), link)
			if filepath.IsAbs(link) || !within(src, resolved) {
				return fmt.Errorf("symbolic link %s points outside the project (%s)", rel, link)
			}
			return os.Symlink(link, target)
		default:
			return fmt.Errorf("%s is not a regular file, directory or link (%s)", rel, info.Mode().Type())
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// within reports whether path is root or below it (both cleaned, lexically).
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
