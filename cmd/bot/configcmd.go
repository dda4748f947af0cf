package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stagecoach/stagecoach/internal/repoconfig"
)

func configCommand(_ context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprintln(stdout, "Usage: bot config validate [FILE] [flags]\n\nThe only subcommand is validate; `bot config validate --help` describes it.")
		if len(args) > 0 && isHelp(args[0]) {
			return nil
		}
		return usagef("config: the only subcommand is validate")
	}
	c := newCmdline("config validate", "[FILE]", "Checks a .stagecoach.yaml (default ./.stagecoach.yaml) and prints every problem with file, line, column and field. "+
		"Exits 1 when there is any. It reads no settings.", stdout).withOutput()
	if done, err := c.parseArgs(args[1:], 1); done {
		return err
	}
	file := repoconfig.FileName
	if c.arg(0) != "" {
		file = c.arg(0)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	cfg, err := repoconfig.Parse(file, data)
	var verr *repoconfig.ValidationError
	if err != nil && !errors.As(err, &verr) {
		return err
	}
	report := validationReport{File: file, Valid: err == nil, Environments: []string{}, Problems: []validationProblem{}}
	if verr != nil {
		for _, fe := range verr.Errors {
			report.Problems = append(report.Problems, validationProblem{Line: fe.Line, Column: fe.Column, Field: fe.Field, Message: fe.Message})
		}
	} else {
		for _, e := range cfg.Environments {
			report.Environments = append(report.Environments, e.Name)
		}
	}
	if c.json() {
		if err := writeJSON(stdout, report); err != nil {
			return err
		}
	} else {
		writeValidation(stdout, report, verr)
	}
	if !report.Valid {
		return errReported
	}
	return nil
}

// validationReport is `bot config validate -o json`: a stable shape, documented in the README.
type validationReport struct {
	File         string              `json:"file"`
	Valid        bool                `json:"valid"`
	Environments []string            `json:"environments"` // in promotion order; empty when invalid
	Problems     []validationProblem `json:"problems"`
}

type validationProblem struct {
	Line    int    `json:"line"`   // 0 when the problem has no place in the file
	Column  int    `json:"column"` // 0 when unknown
	Field   string `json:"field"`  // e.g. environments[0].stack; "" for the whole file
	Message string `json:"message"`
}

func writeValidation(w io.Writer, r validationReport, verr *repoconfig.ValidationError) {
	if verr != nil {
		for _, fe := range verr.Errors {
			fmt.Fprintln(w, fe.Error())
		}
		fmt.Fprintf(w, "%s: %d problem(s)\n", r.File, len(verr.Errors))
		return
	}
	fmt.Fprintf(w, "%s: valid (%d environments: %s)\n", r.File, len(r.Environments), strings.Join(r.Environments, " → "))
}
