package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/stagecoach/stagecoach/internal/config"
)

// Exit codes, documented in `bot --help` and the README.
const (
	exitOK       = 0 // the command did what was asked and found nothing wrong
	exitProblems = 1 // the command ran and found problems, or could not do its work
	exitUsage    = 2 // the command line is wrong: unknown command, flag or output format, wrong arguments
)

// errReported means the command already printed why it failed; main only sets the exit code.
var errReported = errors.New("failed")

// usageError is a mistake on the command line; main exits with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode maps run's result to the process's exit code.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	}
	return exitProblems
}

// cmdline is one command's command line: its flags (those of the settings it reads among them),
// -o where it prints lists or states, and its --help.
type cmdline struct {
	name     string // as typed after `bot`, e.g. "config validate"
	args     string // the positional arguments in the synopsis, e.g. "[FILE]"
	synopsis string
	stdout   io.Writer
	fs       *flag.FlagSet
	settings []config.Setting // the settings the command reads; --help lists them
	flags    map[string]*settingFlag
	output   *outputFormat // nil: the command has no -o
	pos      []string
}

// newCmdline declares a command whose --help shows synopsis, its flags and the settings config
// attributes to it; each of those settings with a flag becomes one here.
func newCmdline(name, args, synopsis string, stdout io.Writer) *cmdline {
	c := &cmdline{name: name, args: args, synopsis: synopsis, stdout: stdout,
		fs: flag.NewFlagSet(name, flag.ContinueOnError), settings: config.SettingsOf(name), flags: map[string]*settingFlag{}}
	c.fs.SetOutput(io.Discard) // errors go back to main, help to stdout through c.help
	c.fs.Usage = func() {}
	for _, s := range c.settings {
		if s.Flag {
			f := &settingFlag{setting: s}
			c.flags[s.Env] = f
			c.fs.Var(f, s.FlagName(), s.Help)
		}
	}
	return c
}

// withOutput adds -o/--output: table (the default) or json.
func (c *cmdline) withOutput() *cmdline {
	c.output = new(outputFormat)
	*c.output = outputTable
	c.fs.Var(c.output, "o", "output format: table or json")
	c.fs.Var(c.output, "output", "output format: table or json")
	return c
}

// parse reads args, flags and arguments in any order ("--" ends the flags). --help prints the
// help and is done; a wrong command line is a usageError.
func (c *cmdline) parse(args []string) (done bool, err error) {
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.help(c.stdout)
				return true, nil
			}
			return true, usagef("%s: %w (see `bot %s --help`)", c.name, err, c.name)
		}
		rest := c.fs.Args()
		consumed := len(args) - len(rest)
		if len(rest) == 0 || (consumed > 0 && args[consumed-1] == "--") {
			c.pos = append(c.pos, rest...)
			return false, nil
		}
		c.pos = append(c.pos, rest[0])
		args = rest[1:]
	}
}

// arg returns the i-th positional argument, or "".
func (c *cmdline) arg(i int) string {
	if i < len(c.pos) {
		return c.pos[i]
	}
	return ""
}

// maxArgs refuses more than n positional arguments.
// parseArgs parses args as parse does and then refuses more than n positional arguments; done
// means the command should return err (nil after --help).
func (c *cmdline) parseArgs(args []string, n int) (done bool, err error) {
	if done, err := c.parse(args); done {
		return true, err
	}
	if err := c.maxArgs(n); err != nil {
		return true, err
	}
	return false, nil
}

func (c *cmdline) maxArgs(n int) error {
	switch {
	case len(c.pos) <= n:
		return nil
	case n == 0:
		return usagef("%s takes no arguments, got %q (see `bot %s --help`)", c.name, c.pos, c.name)
	}
	return usagef("%s takes at most %d argument(s) (%s), got %q (see `bot %s --help`)", c.name, n, c.args, c.pos, c.name)
}

// getenv layers the flags given over the environment: a flag wins over its variable (and so over
// the variable's _FILE form, which config.Load reads only when the variable is unset).
func (c *cmdline) getenv(env func(string) string) func(string) string {
	return func(name string) string {
		if f, ok := c.flags[name]; ok && f.set {
			return f.value
		}
		return env(name)
	}
}

// json reports whether -o json was given.
func (c *cmdline) json() bool { return c.output != nil && *c.output == outputJSON }

func (c *cmdline) help(w io.Writer) {
	synopsis := "bot " + c.name
	if c.args != "" {
		synopsis += " " + c.args
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n\n%s\n\nFlags:\n", synopsis, c.synopsis)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if c.output != nil {
		fmt.Fprintln(tw, "  -o, --output FORMAT\ttable (default) or json")
	}
	c.fs.VisitAll(func(f *flag.Flag) {
		switch sf, isSetting := f.Value.(*settingFlag); {
		case f.Name == "o" || f.Name == "output":
		case isSetting:
			fallback := "$" + sf.setting.Env
			if sf.setting.Default != "" {
				fallback += ", then " + sf.setting.Default
			}
			warn := ""
			if sf.setting.Secret {
				warn = "; a password in it is visible to other users of the machine, so give such a URL in the variable"
			}
			fmt.Fprintf(tw, "      --%s string\t%s (else %s)%s\n", f.Name, sf.setting.Help, fallback, warn)
		default:
			kind, usage := flag.UnquoteUsage(f)
			def := ""
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(tw, "      --%s %s\t%s%s\n", f.Name, kind, usage, def)
		}
	})
	fmt.Fprintln(tw, "  -h, --help\tthis help")
	tw.Flush()
	if len(c.settings) > 0 {
		fmt.Fprintln(w, "\nSettings it reads (a flag wins over its variable, a variable over its _FILE form, either over the default):")
		config.WriteTable(w, c.settings)
	}
}

// settingFlag is the flag of a setting; its value stands in for the variable.
type settingFlag struct {
	setting config.Setting
	value   string
	set     bool
}

func (f *settingFlag) String() string { return f.value }

func (f *settingFlag) Set(v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("empty; give a value, or leave the flag out to use $%s", f.setting.Env)
	}
	f.value, f.set = v, true
	return nil
}

// outputFormat is the value of -o.
type outputFormat string

const (
	outputTable outputFormat = "table"
	outputJSON  outputFormat = "json"
)

func (o *outputFormat) String() string { return string(*o) }

func (o *outputFormat) Set(v string) error {
	switch outputFormat(v) {
	case outputTable, outputJSON:
		*o = outputFormat(v)
		return nil
	}
	return fmt.Errorf("%q is not an output format; use table or json", v)
}

// writeJSON prints v as indented JSON, the shape of every command's -o json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}
