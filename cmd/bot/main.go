// Command bot is stagecoach: a GitHub App that deploys Pulumi stacks for pull
// requests, promotes them through environments and puts them to sleep off-hours.
// Run `bot --help` for the subcommands, settings and exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules and freeze windows name IANA zones; do not depend on the host's tzdata
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "bot:", err)
		}
		os.Exit(exitCode(err))
	}
}
