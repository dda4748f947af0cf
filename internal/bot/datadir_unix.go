//go:build unix

package bot

import (
	"fmt"
	"io/fs"
	"syscall"
)

// ownerOf names the owner of the file info describes, as uid and gid.
func ownerOf(info fs.FileInfo) string {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("uid %d, gid %d", st.Uid, st.Gid)
	}
	return "an unknown user"
}
