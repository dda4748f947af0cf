//go:build !linux

package bot

// HardenProcess does nothing outside Linux, which is the only platform stagecoach hardens itself on.
func HardenProcess() error { return nil }
