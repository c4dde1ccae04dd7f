package server

// The cross-node read barrier (docs/scale-out.md, "Change bus between
// nodes"). With several nodes on one PostgreSQL store, a change another
// node acknowledged reaches this node's bus a moment later; before a
// command, a session with a mailbox selected (or NOTIFY set) waits for
// notify.Bus.Sync, so that the command reports what a command on the
// writer's node would. On one node Sync returns at once.
//
// The wait costs a round trip to PostgreSQL per command, and most
// commands do not need it first:
//
//   - FETCH, STORE and SEARCH by sequence number may not report an
//     EXPUNGE (RFC 9051 §7.5.1), and what they answer about the
//     messages they name (flags, data, matches) is read from the
//     store, which every node shares: a STORE acknowledged on another
//     node is in a FETCH FLAGS at once. What the barrier would add are
//     the other updates (EXISTS, other messages' FETCH FLAGS), which the
//     server may as well send at the session's next command (RFC 9051
//     §5.2, §7).
//   - Except when the store shows the session's view is behind: a
//     message the view still lists is gone (another node expunged it,
//     or deleted the mailbox). Then the skipped barrier runs after all
//     (payBarrier) before the command's updates, so a deleted mailbox
//     ends the session with BYE at that command, as on one node.
//
// UID FETCH, UID STORE, UID SEARCH and every other command wait first
// (their responses may carry the pending EXPUNGEs, RFC 9051 §7.5.1).

// lazyBarrier reports whether the command (upper case, "UID " prefixed
// for UID commands) skips the barrier unless payBarrier runs it.
func lazyBarrier(name string) bool {
	switch name {
	case "FETCH", "STORE", "SEARCH":
		return true
	}
	return false
}

// syncBusFor runs, or for a lazyBarrier command owes, the barrier
// before command name. Only a session that reports changes (a mailbox
// selected, or NOTIFY set) waits.
func (c *Conn) syncBusFor(name string) {
	c.barrierOwed = false
	if c.sub == nil || (c.sel == nil && c.notify == nil) {
		return
	}
	if lazyBarrier(name) {
		c.barrierOwed = true
		return
	}
	c.srv.cfg.Bus.Sync(c.ctx())
}

// payBarrier runs the barrier the current command skipped: it found a
// message of the view gone from the store.
func (c *Conn) payBarrier() {
	if c.barrierOwed {
		c.barrierOwed = false
		c.srv.cfg.Bus.Sync(c.ctx())
	}
}
