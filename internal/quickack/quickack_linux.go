//go:build linux

package quickack

import "syscall"

// Supported reports whether Ack does anything on this system.
const Supported = true

// setQuickAck sets TCP_QUICKACK (tcp(7)). The flag is not permanent:
// the kernel drops back to delayed ACKs when the connection again looks
// interactive, which is why it is set where it matters rather than once.
func setQuickAck(rc syscall.RawConn) {
	rc.Control(func(fd uintptr) {
		// An error (the socket closed under us) changes nothing: the
		// next read reports it.
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
}
