package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

func configCommand(_ context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(stdout, "Usage: bot config validate [FILE]")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errors.New("config: the only subcommand is validate")
	}
	fs := newFlags("config validate [FILE]", "Checks a .stagecoach.yaml (default ./.stagecoach.yaml) and prints every problem with file, line and field. Exits 1 when there is any.", stdout, true)
	if done, err := parseFlags(fs, args[1:]); done {
		return err
	}
	file := repoconfig.FileName
	if fs.NArg() > 1 {
		return errors.New("config validate takes one file")
	}
	if fs.NArg() == 1 {
		file = fs.Arg(0)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	cfg, err := repoconfig.Parse(file, data)
	var verr *repoconfig.ValidationError
	if errors.As(err, &verr) {
		for _, fe := range verr.Errors {
			fmt.Fprintln(stdout, fe.Error())
		}
		fmt.Fprintf(stdout, "%s: %d problem(s)\n", file, len(verr.Errors))
		return errReported
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: valid (%d environments: %s)\n", file, len(cfg.Environments), envNames(cfg))
	return nil
}

func envNames(cfg *repoconfig.Config) string {
	s := ""
	for i, e := range cfg.Environments {
		if i > 0 {
			s += " → "
		}
		s += e.Name
	}
	return s
}
