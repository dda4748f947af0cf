//go:build !unix

package lease

// alive cannot tell elsewhere: every process counts as running, and its leases expire by TTL.
func alive(int) bool { return true }
