package server

import (
	"errors"
	"net"
	"strings"
	"time"

	"barid/internal/imap"
	"barid/internal/imap/wire"
)

// RFC 2177 IDLE; RFC 9051 §6.3.13. While idling, a second goroutine
// pushes changes from the bus as they arrive and sends a keepalive
// "* OK Still here" every idle_keepalive, so NAT boxes and phones keep
// the connection. The reading goroutine waits for DONE. The autologout
// timer (RFC 9051 §5.4) still applies: clients re-issue IDLE well within
// 30 minutes.
func handleIdle(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	c.sendUpdates(true)
	c.enc.RawString("+ idling").CRLF()
	if err := c.flush(); err != nil {
		return &ioError{err}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	var wake <-chan struct{}
	if c.sub != nil {
		wake = c.sub.Wake()
	}
	go func() {
		defer close(done)
		t := time.NewTicker(c.srv.cfg.Limits.IdleKeepalive)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-wake:
				c.wmu.Lock()
				c.sendUpdates(true)
				err := c.flush()
				loggedOut := c.state == StateLogout
				c.wmu.Unlock()
				if err != nil || loggedOut {
					c.nc.SetReadDeadline(time.Now())
					return
				}
			case <-t.C:
				c.wmu.Lock()
				c.enc.RawString("* OK Still here").CRLF()
				err := c.flush()
				c.wmu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.Limits.Autologout))
	shutting := c.setWaiting(true)
	var line string
	var err error
	if !shutting {
		line, err = c.readRawLine()
	}
	c.setWaiting(false)
	close(stop)
	<-done
	if c.state == StateLogout {
		return &ioError{errors.New("selected mailbox deleted")}
	}
	if shutting {
		c.writeBye("Server shutting down")
		return &ioError{errors.New("shutdown")}
	}
	if err != nil {
		var ne net.Error
		var le *wire.LimitError
		switch {
		case errors.As(err, &le):
			c.writeBye(le.Error())
		case errors.As(err, &ne) && ne.Timeout():
			c.phaseMu.Lock()
			sh := c.shutting
			c.phaseMu.Unlock()
			if sh {
				c.writeBye("Server shutting down")
			} else {
				c.writeBye("Autologout; idle for too long")
			}
		}
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(line), "DONE") {
		return &imap.Error{Type: "BAD", Text: "Expected DONE to end IDLE"}
	}
	return c.ok(tag, "", "Idle completed.")
}
