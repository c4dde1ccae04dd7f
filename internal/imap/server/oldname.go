package server

import (
	"barid/internal/store"
)

// OLDNAME (RFC 9051 §6.3.9.7, §7.3.1; the LIST-EXTENDED response item
// RFC 5465 §5.4 also uses). An IMAP4rev2 session is told, in the
// command's own response, the name a mailbox now has and the name it
// had: after RENAME, one untagged LIST per renamed mailbox (inferiors
// included) with ("OLDNAME" (old)); after CREATE, when the server
// normalized the name the client gave (INBOX's spelling, RFC 9051
// §6.3.4), a LIST with the normalized name and the given one as
// OLDNAME. An IMAP4rev1 session gets neither, as from Dovecot 2.3:
// OLDNAME is not part of rev1's LIST response.

// writeRenameLists writes the LIST responses for the mailboxes a RENAME
// changed (the store's rename changes, parent first).
func (c *Conn) writeRenameLists(changes []store.Change) {
	if !c.rev2 {
		return
	}
	var notes []listNote
	for _, ch := range changes {
		if ch.Kind == store.ChangeMailboxRenamed && ch.OldName != "" {
			notes = append(notes, listNote{kind: ch.Kind, name: ch.Name, oldName: ch.OldName})
		}
	}
	c.writeOldNameLists(notes)
}

// writeCreateOldName writes the LIST of a mailbox CREATE made under a
// name other than the one the client gave.
func (c *Conn) writeCreateOldName(name, given string) {
	if !c.rev2 || name == given {
		return
	}
	c.writeOldNameLists([]listNote{{kind: store.ChangeMailboxCreated, name: name, oldName: given}})
}

func (c *Conn) writeOldNameLists(notes []listNote) {
	if len(notes) == 0 {
		return
	}
	h, err := c.loadHierarchy()
	if err != nil {
		c.log.Warn("OLDNAME: listing mailboxes", "err", err)
		return
	}
	for _, l := range notes {
		// Attributes as LIST "" name would give them: \Subscribed
		// only comes with the SUBSCRIBED option (RFC 5258 §3).
		c.writeListNote(l, h, false)
	}
}
