package server

// Pushing without a command in progress.
//
// Base IMAP sends unsolicited responses only while a command runs; IDLE
// (RFC 2177) and NOTIFY (RFC 5465 §1: "the client listens for event
// notifications all the time (even when no command is in progress)")
// let the server write at any time. Both use the same machinery: the
// reader goroutine owns the connection while a command runs; when it
// waits (for DONE in IDLE, or between commands with NOTIFY on, where it
// blocks reading the next command's first byte) it marks the
// connection idling or quiet under wmu, and the bus's notify hook
// starts a short-lived pusher goroutine that takes wmu, writes and
// exits. When the reader wakes it takes wmu, which waits for a push in
// progress, and clears the mark: from then on the connection's state is
// its own again. A push never writes in the middle of a response.
//
// Expunges: between commands the pusher sends EXPUNGE/VANISHED only for
// NOTIFY's SELECTED specifier, whose client accepted them at any time
// (§5.3, §6.1.1); SELECTED-DELAYED keeps them for a command that allows
// them (§6.1.2, RFC 9051 §7.5.1), as do FETCH, STORE and SEARCH by
// sequence number (updatesAfter).

// notifyActive reports whether NOTIFY SET is in force.
func (c *Conn) notifyActive() bool { return c.notify != nil && c.notify.spec != nil }

// beginQuiet lets the pusher write while the reader waits for a
// command; it reports whether it did (NOTIFY SET is in force).
func (c *Conn) beginQuiet() bool {
	if !c.notifyActive() || c.sub == nil {
		return false
	}
	// What the last command held back goes out now. Looked at before
	// quiet is set: from then on the pusher owns the state.
	held := c.notify.pending() || c.quietHeld()
	c.wmu.Lock()
	c.quiet = true
	c.wmu.Unlock()
	c.sub.SetNotify(c.kickIdle)
	// A change published before SetNotify did not kick.
	if held || c.sub.Pending() {
		c.kickIdle()
	}
	return true
}

// endQuiet takes the connection back from the pusher; it returns the
// write error of a failed push.
func (c *Conn) endQuiet() error {
	c.sub.SetNotify(nil)
	c.wmu.Lock()
	c.quiet = false
	err := c.pushErr
	c.pushErr = nil
	c.wmu.Unlock()
	if err != nil {
		return &ioError{err}
	}
	return nil
}

// quietExpunges: may a push between commands send expunges?
func (c *Conn) quietExpunges() bool {
	return c.notifyActive() && c.notify.spec.hasSelected && !c.notify.spec.delayed
}

// quietHeld reports whether the view holds changes that a push between
// commands would send (those NOTIFY does not want stay held).
func (c *Conn) quietHeld() bool {
	v := c.sel
	if v == nil {
		return false
	}
	if v.aclStale || v.deleted {
		return true
	}
	pol := c.selectedPolicy()
	if v.addsPending && (pol.adds || v.ownAdds) || len(v.flags) > 0 && pol.flags {
		return true
	}
	if len(v.expunged) == 0 || !c.quietExpunges() {
		return false
	}
	for _, own := range v.expunged {
		if own || pol.expunges {
			return true
		}
	}
	return false
}
