package fs

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE (sync_file_range(2)):
// start writeback of the dirty pages in the range, without waiting.
const syncFileRangeWrite = 0x2

// startWriteback asks the kernel to begin writing [off, off+n) of f to
// disk now, so that the fsync at Commit finds little left to do: for a
// 1 MB message the fsync after the last byte took 0.72 ms, 0.25 ms with
// writeback started every 256 KiB while the bytes arrived (ext4, virtio
// disk). Errors are ignored: it is only a hint; Commit's fsync is what
// makes the blob durable.
func startWriteback(f *os.File, off, n int64) {
	syscall.SyncFileRange(int(f.Fd()), off, n, syncFileRangeWrite) //nolint:errcheck // a hint
}
