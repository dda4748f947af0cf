package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stagecoach/stagecoach/internal/config"
	"github.com/stagecoach/stagecoach/internal/toolchain"
)

func toolchainCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "install" {
		fmt.Fprintln(stdout, "Usage: bot toolchain install [flags]\n\nThe only subcommand is install; `bot toolchain install --help` describes it.")
		if len(args) > 0 && isHelp(args[0]) {
			return nil
		}
		return usagef("toolchain: the only subcommand is install")
	}
	c := newCmdline(config.CommandToolchain, "", "Finds the Pulumi CLI (--pulumi-command, STAGECOACH_PULUMI_COMMAND, PATH, the cache) or downloads or builds the pinned v3.274.1 and the YAML language host into the user cache directory. The first build takes several minutes.", stdout)
	if done, err := c.parseArgs(args[1:], 0); done {
		return err
	}
	tools, err := toolchain.Ensure(ctx, toolchain.Options{Command: c.getenv(getenv)("STAGECOACH_PULUMI_COMMAND"), Progress: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pulumi %s (%s) at %s\n", tools.Version, tools.Source, tools.Pulumi)
	for _, d := range tools.LanguageDirs {
		fmt.Fprintf(stdout, "language hosts in %s\n", d)
	}
	return nil
}
