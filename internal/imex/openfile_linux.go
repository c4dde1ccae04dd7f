package imex

import (
	"io"
	"os"
	"syscall"
	"time"
)

// openMessage opens a source message for one read to its end and returns
// its modification time. It uses a bare file descriptor rather than
// os.Open, which offers every file to the runtime's poller: on Linux that
// is a failing epoll_ctl and four fcntl calls per file, 600,000 system
// calls in a 100,000-message import (strace -c; docs/benchmarks.md,
// "Import").
func openMessage(path string) (io.ReadCloser, time.Time, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, time.Time{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, time.Time{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return &rawFile{fd: fd, path: path, size: st.Size}, time.Unix(st.Mtim.Unix()), nil
}

// rawFile reads a file through its descriptor.
type rawFile struct {
	fd   int
	path string
	size int64
}

// Size is the file's size when it was opened.
func (f *rawFile) Size() int64 { return f.size }

func (f *rawFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.path, Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *rawFile) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	return err
}
