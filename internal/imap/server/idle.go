package server

import (
	"errors"
	"net"
	"strings"
	"time"

	"barid/internal/imap"
	"barid/internal/imap/wire"
)

// RFC 2177 IDLE; RFC 9051 §6.3.13.
//
// While a client idles, its connection costs one goroutine (the reader
// waiting for DONE) and nothing else: the change bus calls kick, which
// starts a short-lived goroutine to write the updates, and the keepalive
// "* OK Still here" (every idle_keepalive, for NAT boxes and phones) is a
// timer, not a goroutine. Writers hold wmu. The autologout timer
// (RFC 9051 §5.4) still applies: clients re-issue IDLE within 30 minutes.
func handleIdle(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	c.sendUpdates(true)
	if c.notify != nil {
		// RFC 5465 §4: IDLE sends what NOTIFY asked for.
		c.writeNotifications()
	}
	c.enc.RawString("+ idling").CRLF()
	if err := c.flush(); err != nil {
		return &ioError{err}
	}
	c.wmu.Lock()
	c.idling = true
	c.wmu.Unlock()
	c.srv.metrics.Idle(1)
	keepalive := c.srv.cfg.Limits.IdleKeepalive
	var timer *time.Timer
	timer = time.AfterFunc(keepalive, func() {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		if !c.idling {
			return
		}
		c.enc.RawString("* OK Still here").CRLF()
		if err := c.flush(); err != nil {
			c.nc.SetReadDeadline(time.Now())
			return
		}
		timer.Reset(keepalive)
	})
	if c.sub != nil {
		c.sub.SetNotify(c.kickIdle)
		if c.sub.Pending() {
			c.kickIdle()
		}
	}
	c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.Limits.Autologout))
	shutting := c.setWaiting(true)
	var line string
	var err error
	if !shutting {
		line, err = c.readRawLine()
	}
	c.setWaiting(false)
	if c.sub != nil {
		c.sub.SetNotify(nil)
	}
	timer.Stop()
	// Taking wmu waits for a push or keepalive in progress; after this
	// the connection's state is ours alone again.
	c.wmu.Lock()
	c.idling = false
	c.wmu.Unlock()
	c.srv.metrics.Idle(-1)
	if c.state == StateLogout {
		return &ioError{errors.New("selected mailbox deleted")}
	}
	if shutting {
		c.writeBye(c.byeText())
		return &ioError{errors.New("shutdown")}
	}
	if err != nil {
		var ne net.Error
		var le *wire.LimitError
		switch {
		case errors.As(err, &le):
			c.writeBye(le.Error())
		case errors.As(err, &ne) && ne.Timeout():
			c.timeoutBye()
		}
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(line), "DONE") {
		return &imap.Error{Type: "BAD", Text: "Expected DONE to end IDLE"}
	}
	return c.ok(tag, "", "Idle completed.")
}

// kickIdle runs on the publisher's goroutine: it must not block. It
// starts one pusher at a time.
func (c *Conn) kickIdle() {
	if c.pushing.CompareAndSwap(false, true) {
		go c.idlePush()
	}
}

// idlePush writes pending updates to an idling or quiet client, then
// exits; a change that arrives while it runs is picked up by its own
// loop.
func (c *Conn) idlePush() {
	for {
		c.wmu.Lock()
		if c.idling || c.quiet {
			c.sendUpdates(c.idling || c.quietExpunges())
			if c.notify != nil {
				c.writeNotifications()
			}
			err := c.flush()
			if err != nil && c.quiet {
				c.pushErr = err
			}
			if err != nil || c.state == StateLogout {
				// End the read: the reader sees the deadline.
				c.nc.SetReadDeadline(time.Now())
			}
		}
		c.wmu.Unlock()
		c.pushing.Store(false)
		if c.sub == nil || !c.sub.Pending() || !c.pushing.CompareAndSwap(false, true) {
			return
		}
	}
}
