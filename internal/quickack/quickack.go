package quickack

import (
	"net"
	"syscall"
)

// Mode says when a Conn acknowledges after a read.
type Mode uint8

const (
	// Partial acknowledges after a read that drained the socket and
	// ended mid-line (IMAP, POP3: line protocols whose continuations
	// are announced with Ack).
	Partial Mode = iota
	// Always acknowledges after every read (LMTP).
	Always
)

// Conn is a TCP connection that sends pending ACKs promptly. It embeds
// the *net.TCPConn, so CloseWrite and the deadlines pass through.
type Conn struct {
	*net.TCPConn
	rc   syscall.RawConn
	mode Mode
	// armed: the rest of a command is on its way after a continuation
	// request (Arm); every read acknowledges until Disarm. Only the
	// goroutine that reads the connection touches it.
	armed bool
}

// Wrap returns nc wrapped in a *Conn when it is a TCP connection, and nc
// unchanged otherwise (a Unix socket, a net.Pipe in tests).
func Wrap(nc net.Conn, mode Mode) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	return &Conn{TCPConn: tc, rc: rc, mode: mode}
}

// Of returns the *Conn that nc is, or nil (Ack on nil does nothing).
func Of(nc net.Conn) *Conn {
	c, _ := nc.(*Conn)
	return c
}

// TCP returns the TCP connection under nc (nc itself or the one a Conn
// wraps), for code that half-closes.
func TCP(nc net.Conn) (*net.TCPConn, bool) {
	if c, ok := nc.(*Conn); ok {
		return c.TCPConn, true
	}
	tc, ok := nc.(*net.TCPConn)
	return tc, ok
}

// Read reads from the connection and acknowledges what it read at once
// when the client may be holding the rest of a line (see the package
// comment).
func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 && (c.mode == Always || c.armed || (n < len(p) && p[n-1] != '\n')) {
		c.Ack()
	}
	return n, err
}

// Arm is for right after the server writes a continuation request: it
// acknowledges at once (Ack), and so does every read until Disarm. A
// literal usually ends in LF, so the mid-line rule would not see that
// the client holds the CRLF after it; and an ACK forced after the bytes
// are read goes out whatever the kernel guessed about the segment. A
// no-op on nil.
func (c *Conn) Arm() {
	if c == nil {
		return
	}
	c.armed = true
	c.Ack()
}

// Disarm ends Arm, when the server starts reading the next command. A
// no-op on nil.
func (c *Conn) Disarm() {
	if c != nil {
		c.armed = false
	}
}

// Ack leaves delayed-ACK mode: a pending ACK goes out now, and data that
// arrives before the server next writes is acknowledged as soon as it is
// read. Call it after writing a continuation request. A no-op on nil and
// on systems without TCP_QUICKACK.
func (c *Conn) Ack() {
	if c == nil {
		return
	}
	setQuickAck(c.rc)
}
