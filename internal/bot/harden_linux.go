//go:build linux

package bot

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// HardenProcess marks this process non-dumpable, so that a process of the same user without
// CAP_SYS_PTRACE — such as a pull request's Pulumi program — can neither read /proc/<pid>/environ or
// /proc/<pid>/mem nor attach to it. `serve` and `demo` call it first thing. It does not protect against
// root: run Pulumi as another user (STAGECOACH_PULUMI_USER) when the bot runs as root.
func HardenProcess() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("marking the process non-dumpable: %w", err)
	}
	return nil
}
