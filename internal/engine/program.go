package engine

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Program is what an operation runs: a Pulumi project directory, an inline Go program, or — for
// operations that never run code — just a project name.
type Program struct {
	// Dir is a directory holding Pulumi.yaml, such as one returned by source.Fetcher.Project. Each
	// operation works on its own copy, so the directory is never written to.
	Dir string
	// Project is the project name of an inline or state-only program. Ignored with Dir, whose
	// Pulumi.yaml names the project.
	Project string
	// Run is an inline program, run in this process. It must return once its pulumi.Context's
	// Context() is done, or a cancelled operation cannot finish.
	Run pulumi.RunFunc
}

// LocalProgram is the Pulumi project in dir.
func LocalProgram(dir string) Program { return Program{Dir: dir} }

// InlineProgram is a Go program run in this process as project.
func InlineProgram(project string, run pulumi.RunFunc) Program {
	return Program{Project: project, Run: run}
}

// StateOnly names a project without its program. It is enough for operations that work from the
// stack's state — Destroy, Tags — for example to destroy an environment whose
// commit is gone. Preview and Up refuse it.
func StateOnly(project string) Program { return Program{Project: project} }

// runnable reports whether the program has code to run.
func (p Program) runnable() bool { return p.Dir != "" || p.Run != nil }

// ConfigValue is one stack configuration value.
type ConfigValue struct {
	// Value is the plain value.
	Value string
	// Secret marks a value that Pulumi encrypts and every log masks.
	Secret bool
}

// Request names the stack an operation works on and how to prepare it.
type Request struct {
	// Program is the project the stack belongs to.
	Program Program
	// Stack is the stack name: short ("pr-12"), qualified with Config.Organization, or fully
	// qualified ("org/project/pr-12").
	Stack string
	// Config is set on the stack before the operation runs. Each operation works in a fresh workspace,
	// so callers pass the stack's full configuration every time (on top of a Pulumi.<stack>.yaml the
	// project directory may hold). Keys are "key" (the project's namespace) or "namespace:key".
	Config map[string]ConfigValue
	// Tags are set on the stack before the operation runs, e.g. stagecoach:repo, stagecoach:pr,
	// stagecoach:sha, stagecoach:env. Existing tags not named here are left alone.
	Tags map[string]string
	// Message is the update message recorded in the stack's history. Default none.
	Message string
}

// Stack tags stagecoach sets on the stacks it manages.
const (
	TagRepo = "stagecoach:repo" // owner/name of the repository
	TagPR   = "stagecoach:pr"   // pull request number of an ephemeral environment
	TagSHA  = "stagecoach:sha"  // commit deployed last
	TagEnv  = "stagecoach:env"  // environment name (dev, staging, prod, pr-12)
	TagRef  = "stagecoach:ref"  // branch deployed last (a PR's head branch, or the default branch)
)

var (
	// stackPart is Pulumi's rule for each part of a stack name, with no leading '-' (it would reach the
	// CLI as a flag) or '.'.
	stackPart  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	configPart = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_.:/-]*$`)
)

// maxStackName is Pulumi's limit on the length of a stack's own name.
const maxStackName = 100

// validate reports every problem with the request; needCode is set for Preview and Up.
func (r Request) validate(needCode bool) error {
	var errs []error
	p := r.Program
	switch {
	case p.Dir != "" && p.Run != nil:
		errs = append(errs, errors.New("program has both a directory and an inline function; give one"))
	case p.Dir == "" && p.Project == "":
		errs = append(errs, errors.New("program needs a directory or a project name"))
	case needCode && !p.runnable():
		errs = append(errs, fmt.Errorf("program of project %q has no code to run: preview and up need a directory or an inline function", p.Project))
	}
	if p.Dir == "" && p.Project != "" && !stackPart.MatchString(p.Project) {
		errs = append(errs, fmt.Errorf("project name %q may only hold letters, digits, '_', '.' and '-', and must start with a letter, digit or '_'", p.Project))
	}
	parts := strings.Split(r.Stack, "/")
	if r.Stack == "" {
		errs = append(errs, errors.New("stack name is required"))
	} else if len(parts) != 1 && len(parts) != 3 {
		errs = append(errs, fmt.Errorf("stack name %q must be short (\"pr-12\") or fully qualified (\"org/project/pr-12\")", r.Stack))
	} else {
		for _, part := range parts {
			if !stackPart.MatchString(part) {
				errs = append(errs, fmt.Errorf("stack name %q may only hold letters, digits, '_', '.', '-' and the '/' separators, each part starting with a letter, digit or '_'", r.Stack))
				break
			}
		}
		if len(parts[len(parts)-1]) > maxStackName {
			errs = append(errs, fmt.Errorf("stack name %q is longer than Pulumi's %d characters", r.Stack, maxStackName))
		}
	}
	for k := range r.Config {
		if !configPart.MatchString(k) {
			errs = append(errs, fmt.Errorf("config key %q may only hold letters, digits and '_', '.', ':', '/', '-', and must not start with '-'", k))
		}
	}
	for k, v := range r.Tags {
		if k == "" || strings.ContainsAny(k, " =\n") || strings.HasPrefix(k, "-") {
			errs = append(errs, fmt.Errorf("tag name %q is invalid", k))
		}
		if strings.HasPrefix(v, "-") {
			errs = append(errs, fmt.Errorf("tag %s: value %q must not start with '-'", k, v))
		}
	}
	return errors.Join(errs...)
}
