package server

import (
	"barid/internal/mailbox"
)

// Live ACL changes (docs/sharing.md "Live changes"). The mailbox
// service publishes store.ChangeACL on the change bus whenever a
// mailbox's ACL changes (SETACL, DELETEACL, a new mailbox inheriting
// its parent's, `barid mailbox setacl`; from other PostgreSQL nodes
// through the store's LISTEN/NOTIFY hints), and the bus gives it to
// every session, since an entry may name anyone, a group or a user not
// watching the mailbox. Each session then works out its own rights:
//
//   - The selected mailbox: rights are read again at the next point the
//     session may send updates (a command's end, IDLE, a NOTIFY push).
//     Without "r" the session can no longer read the mailbox it has
//     open. RFC 9051 has no way to leave the selected state unasked
//     (CLOSED, §7.1, ends a mailbox the client closed or replaced with
//     SELECT; clients track it only there), so the server closes the
//     connection with an untagged BYE (§7.1.5), as Dovecot and barid
//     do when the selected mailbox is deleted. Without "l" as well the
//     text is the deletion's, so the mailbox looks gone (RFC 4314 §4:
//     nothing may tell it exists). With "r" kept, the new rights apply
//     and FLAGS and PERMANENTFLAGS are sent again (RFC 9051 §7.1,
//     §7.3.5), listing the flags the user may now change.
//   - NOTIFY (RFC 5465) on other mailboxes: gaining "l" is the
//     mailbox's creation and losing it its deletion (§5.4: "granting or
//     revocation of the 'l' right ... MUST be considered mailbox
//     creation or deletion"), sent as LIST (with \NonExistent) to a
//     MailboxName watcher. Message events need "r" (RFC 4314 §4: STATUS
//     needs it): without it no STATUS is sent.

// byeDeleted is the BYE for a selected mailbox that is gone (deleted,
// or no longer visible to the user).
const byeDeleted = "Selected mailbox was deleted, have to disconnect."

// recheckSelectedRights reads the user's rights on the selected shared
// mailbox again after an ACL change and acts on the result.
func (c *Conn) recheckSelectedRights() {
	v := c.sel
	v.aclStale = false
	r, err := c.mailboxes().Rights(c.ctx(), c.user(), &v.mbox)
	if err != nil {
		c.log.Warn("reading rights after an ACL change", "err", err)
		v.aclStale = true
		return
	}
	switch {
	case !r.Has(mailbox.RightRead) && r&mailbox.RightLookup == 0:
		v.revoked = byeDeleted
	case !r.Has(mailbox.RightRead):
		v.revoked = "Permission to read the selected mailbox was removed, have to disconnect."
	default:
		v.rights = r // needSel may have taken them already
		if r != v.shown && !v.readOnly {
			c.writeFlagsResponses()
		}
	}
}
