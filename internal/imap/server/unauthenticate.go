package server

import (
	"time"
)

// RFC 8437 UNAUTHENTICATE: back to the not authenticated state, as if
// the connection were new except for its TLS and COMPRESS layers (§3):
// the selected mailbox is closed without expunging, the session's
// resources (change-bus subscription, per-user connection slot) are
// released, and what ENABLE turned on is off again. The login timeout
// and the count of commands before login start over.
func handleUnauthenticate(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	c.sel = nil
	if c.sub != nil {
		c.sub.Close()
		c.sub = nil
	}
	if c.releaseUser != nil {
		c.releaseUser()
		c.releaseUser = nil
	}
	c.account = nil
	c.state = StateNotAuthenticated
	c.rev2, c.utf8, c.condstore, c.qresync = false, false, false, false
	c.enc.SetUTF8(false)
	c.searchRes, c.lastUIDSet = nil, nil
	c.preAuthCmd, c.badCmds = 0, 0
	c.authStart = time.Now()
	c.log = c.srv.log.With("conn", c.id, "remote", c.remote.String())
	c.writeStatus(tag, "OK", "", "Unauthenticate completed.")
	return nil
}
