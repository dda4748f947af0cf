//go:build !unix

package engine

import (
	"fmt"
	"syscall"
)

// runAs is the user Pulumi processes run as when Config.User is set; not supported on this platform.
type runAs struct{ name string }

func lookupRunAs(s string) (*runAs, error) {
	return nil, fmt.Errorf("pulumi user %q: running Pulumi as another user is only supported on Unix", s)
}

func (r *runAs) sysProcAttr() *syscall.SysProcAttr { return nil }
func (r *runAs) own(string) error                  { return nil }
func (r *runAs) reach(string) error                { return nil }
