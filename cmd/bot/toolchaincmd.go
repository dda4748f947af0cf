package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func toolchainCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "install" {
		fmt.Fprintln(stdout, "Usage: bot toolchain install")
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return nil
		}
		return errors.New("toolchain: the only subcommand is install")
	}
	fs := newFlags("toolchain install", "Finds the Pulumi CLI (STAGECOACH_PULUMI_COMMAND, PATH, the cache) or downloads or builds the pinned v3.274.1 and the YAML language host into the user cache directory. The first build takes several minutes.", stdout, true)
	if done, err := parseFlags(fs, args[1:]); done {
		return err
	}
	tools, err := toolchain.Ensure(ctx, toolchain.Options{Command: getenv("STAGECOACH_PULUMI_COMMAND"), Progress: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pulumi %s (%s) at %s\n", tools.Version, tools.Source, tools.Pulumi)
	for _, d := range tools.LanguageDirs {
		fmt.Fprintf(stdout, "language hosts in %s\n", d)
	}
	return nil
}
