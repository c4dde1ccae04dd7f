package server

import (
	"context"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hangupPoll is how often a command that reads on behalf of its client
// checks whether the client is still there.
const hangupPoll = 50 * time.Millisecond

// hangupWatch cancels the reads of one command when its client hangs up:
// the peer's FIN (POLLRDHUP) or a reset (POLLHUP, POLLERR) with nothing
// left to read. Dovecot ends a session when its input reaches EOF, also
// during a command; barid stops the read-only work the client no longer
// waits for (a SEARCH BODY over a large mailbox, a big FETCH) and ends
// the session, but never cancels writes: what was acknowledged is done.
type hangupWatch struct {
	ctx    context.Context
	cancel context.CancelFunc
	rc     syscall.RawConn
	mu     sync.Mutex
	timer  *time.Timer
	done   bool // stopped
	hung   bool // the client hung up
}

// readCtx is the context for store and blob reads whose results only
// this command's client waits for: SEARCH, SORT, THREAD and FETCH use it
// for loading records and reading message bytes. It is cancelled when
// the client hangs up while the command runs (checked every 50 ms,
// from the first 50 ms of the command on). A command whose client has
// sent more commands already (pipelined, in the read buffer) is not
// watched: those commands still wait for their answers. Outside a
// command, and in the IDLE/NOTIFY pusher (its FETCH and search updates),
// it is ctx().
func (c *Conn) readCtx() context.Context {
	if c.pushing.Load() {
		// The IDLE/NOTIFY pusher (idle.go), whose reads serve no
		// command; it must not touch the reader's state.
		return c.ctx()
	}
	if c.hang != nil {
		return c.hang.ctx
	}
	if !c.inCmd || c.br.Buffered() > 0 {
		return c.ctx()
	}
	rc := rawConn(c.nc)
	if rc == nil {
		return c.ctx()
	}
	h := &hangupWatch{rc: rc}
	h.ctx, h.cancel = context.WithCancel(c.ctx())
	h.mu.Lock() // poll reads timer under mu
	h.timer = time.AfterFunc(hangupPoll, h.poll)
	h.mu.Unlock()
	c.hang = h
	return h.ctx
}

// endCommandReads stops the watch of the command that just finished and
// reports whether its client hung up during it.
func (c *Conn) endCommandReads() bool {
	h := c.hang
	if h == nil {
		return false
	}
	c.hang = nil
	h.mu.Lock()
	h.done = true
	h.timer.Stop()
	hung := h.hung
	h.mu.Unlock()
	h.cancel()
	return hung
}

func (h *hangupWatch) poll() {
	hung := false
	err := h.rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
		n, err := unix.Poll(fds, 0)
		if err != nil || n == 0 {
			return
		}
		if fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) == 0 {
			return
		}
		// A half-close after more commands: they are still to be
		// answered, so this one goes on.
		if left, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil && left > 0 {
			return
		}
		hung = true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return
	}
	if err == nil && hung {
		h.hung = true
		h.cancel()
		return
	}
	if err == nil {
		h.timer.Reset(hangupPoll)
	}
}

// rawConn finds the socket under the wrappers barid puts around it (TLS,
// PROXY protocol, COMPRESS, quick ACKs); nil when there is none (a pipe
// in tests).
func rawConn(nc net.Conn) syscall.RawConn {
	for range 8 {
		if sc, ok := nc.(syscall.Conn); ok {
			rc, err := sc.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		nc = u.NetConn()
	}
	return nil
}
