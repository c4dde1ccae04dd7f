//go:build !linux

package imex

import (
	"io"
	"os"
	"time"
)

// openMessage opens a source message and returns its modification time.
func openMessage(path string) (io.ReadCloser, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, time.Time{}, err
	}
	return f, fi.ModTime(), nil
}
