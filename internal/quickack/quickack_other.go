//go:build !linux

package quickack

import "syscall"

// Supported reports whether Ack does anything on this system.
const Supported = false

// setQuickAck does nothing: TCP_QUICKACK is Linux's. (Other systems'
// delayed-ACK heuristics differ; there is no portable equivalent.)
func setQuickAck(syscall.RawConn) {}
