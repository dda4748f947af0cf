//go:build !unix

package bot

import "io/fs"

// ownerOf is not known outside Unix.
func ownerOf(fs.FileInfo) string { return "an unknown user" }
