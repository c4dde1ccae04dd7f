//go:build unix

package auth

import (
	"os"
	"syscall"
)

// inode is the file's inode number, so a file replaced by rename (as
// editors and "install" do) is noticed even with the same size and time.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
