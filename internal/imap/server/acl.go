package server

import (
	"context"
	"errors"
	"slices"
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/notify"
	"barid/internal/store"
)

// ACL commands (RFC 4314 §3) and the glue between a session and the
// mailbox service, which resolves names and computes rights.

const rightDelete = mailbox.RightDelete

// mailboxes is the mailbox service every mailbox command goes through.
func (c *Conn) mailboxes() *mailbox.Service { return c.srv.mbox }

// user is the acting user for the mailbox service.
func (c *Conn) user() mailbox.User {
	return mailbox.User{ID: c.account.ID, Name: c.account.Name}
}

// mctx is the context for service writes: their changes are published
// stamped with this session (RFC 5465 §5).
func (c *Conn) mctx() context.Context { return notify.WithOrigin(c.ctx(), c.id) }

// mailboxError maps a mailbox rule's refusal to a response code.
func mailboxError(err error) (*imap.Error, bool) {
	var me *mailbox.Error
	if !errors.As(err, &me) {
		return nil, false
	}
	code := imap.CodeCannot
	switch me.Kind {
	case mailbox.KindLimit:
		code = imap.CodeLimit
	case mailbox.KindExists:
		code = imap.CodeAlreadyExists
	case mailbox.KindNoPerm:
		code = imap.CodeNoPerm
	case mailbox.KindNonexistent:
		code = imap.CodeNonExistent
	}
	return &imap.Error{Type: "NO", Code: code, Text: me.Text}, true
}

// needSel checks a right on the selected mailbox (RFC 4314 §4). On a
// mailbox another account owns the rights are read again first, so an
// owner's SETACL or DELETEACL applies to a sharer's next command, not
// only to their next SELECT.
func (c *Conn) needSel(r mailbox.Rights) error {
	if c.sel == nil || r == 0 {
		return nil
	}
	if c.sel.shared {
		cur, err := c.mailboxes().Rights(c.ctx(), c.user(), &c.sel.mbox)
		if err != nil {
			return err
		}
		c.sel.rights = cur
	}
	if c.sel.rights.Has(r) {
		return nil
	}
	return mailbox.ErrNoPerm
}

// readACLArgs reads "SP mailbox" and, with n > 0, n more astrings.
func (c *Conn) readACLArgs(n int) (string, []string, error) {
	if !c.dec.ExpectSP() {
		return "", nil, c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		return "", nil, err
	}
	args := make([]string, n)
	for i := range args {
		if !c.dec.ExpectSP() || !c.dec.ExpectAString(&args[i]) {
			return "", nil, c.dec.Err()
		}
	}
	if !c.dec.ExpectCRLF() {
		return "", nil, c.dec.Err()
	}
	return name, args, nil
}

// RFC 4314 §3.1 SETACL mailbox identifier mod-rights.
func handleSetACL(c *Conn, tag string) error {
	name, args, err := c.readACLArgs(2)
	if err != nil {
		return err
	}
	err = c.mailboxes().SetACL(c.mctx(), c.user(), name, args[0], args[1])
	if errors.Is(err, mailbox.ErrBadRights) {
		// RFC 4314 §3.1: an unknown right is a BAD.
		return &imap.Error{Type: "BAD", Text: "Unknown right in rights string " + args[1]}
	}
	if err != nil {
		return err
	}
	return c.ok(tag, "", "Setacl completed.")
}

// RFC 4314 §3.2 DELETEACL mailbox identifier.
func handleDeleteACL(c *Conn, tag string) error {
	name, args, err := c.readACLArgs(1)
	if err != nil {
		return err
	}
	if err := c.mailboxes().DeleteACL(c.mctx(), c.user(), name, args[0]); err != nil {
		return err
	}
	return c.ok(tag, "", "Deleteacl completed.")
}

// RFC 4314 §3.3 GETACL mailbox: "* ACL mailbox (identifier rights)*".
func handleGetACL(c *Conn, tag string) error {
	name, _, err := c.readACLArgs(0)
	if err != nil {
		return err
	}
	ref, entries, err := c.mailboxes().ACL(c.ctx(), c.user(), name)
	if err != nil {
		return err
	}
	c.enc.RawString("* ACL ")
	c.writeMailboxName(ref.Name)
	for _, e := range entries {
		c.enc.SP().AString(e.Identifier).SP().AString(e.Rights)
	}
	c.enc.CRLF()
	return c.ok(tag, "", "Getacl completed.")
}

// RFC 4314 §3.4 LISTRIGHTS mailbox identifier.
func handleListRights(c *Conn, tag string) error {
	name, args, err := c.readACLArgs(1)
	if err != nil {
		return err
	}
	ref, req, opt, err := c.mailboxes().ListRights(c.ctx(), c.user(), name, args[0])
	if err != nil {
		return err
	}
	c.enc.RawString("* LISTRIGHTS ")
	c.writeMailboxName(ref.Name)
	c.enc.SP().AString(args[0]).SP().AString(req.String())
	for _, r := range opt {
		c.enc.SP().AString(r.String())
	}
	c.enc.CRLF()
	return c.ok(tag, "", "Listrights completed.")
}

// RFC 4314 §3.5 MYRIGHTS mailbox.
func handleMyRights(c *Conn, tag string) error {
	name, _, err := c.readACLArgs(0)
	if err != nil {
		return err
	}
	ref, err := c.mailboxes().MyRights(c.ctx(), c.user(), name)
	if err != nil {
		return err
	}
	c.writeMyRights(ref.Name, ref.Rights)
	return c.ok(tag, "", "Myrights completed.")
}

// writeMyRights writes "* MYRIGHTS mailbox rights" (RFC 4314 §3.8).
func (c *Conn) writeMyRights(name string, r mailbox.Rights) {
	c.enc.RawString("* MYRIGHTS ")
	c.writeMailboxName(name)
	c.enc.SP().AString(r.String()).CRLF()
}

// resolveTarget resolves the mailbox an APPEND, COPY, MOVE or REPLACE
// writes into (RFC 4314 §4: "i"). A missing mailbox, or one the user
// may not see, is NO [TRYCREATE] (RFC 9051 §6.3.12), the same text
// either way.
func (c *Conn) resolveTarget(name string) (*mailbox.Ref, error) {
	ref, err := c.mailboxes().Resolve(c.ctx(), c.user(), name, mailbox.RightInsert)
	if errors.Is(err, store.ErrNoMailbox) {
		return nil, &imap.Error{Type: imap.TypeNO, Code: imap.CodeTryCreate, Text: "Mailbox doesn't exist: " + name}
	}
	return ref, err
}

// permittedFlags keeps the flags an APPEND may set with rights r
// (RFC 4314 §2.1: \Seen needs "s", \Deleted "t", the others "w");
// the rest are dropped without an error, as Dovecot does.
func permittedFlags(r mailbox.Rights, flags []string) []string {
	if r == mailbox.All {
		return flags
	}
	out := flags[:0:0]
	for _, f := range flags {
		var need mailbox.Rights
		switch {
		case strings.EqualFold(f, `\Seen`):
			need = mailbox.RightSeen
		case strings.EqualFold(f, `\Deleted`):
			need = mailbox.RightDeleteMsg
		default:
			need = mailbox.RightWrite
		}
		if r.Has(need) {
			out = append(out, f)
		}
	}
	return out
}

// dropCopiedFlags takes from messages just copied or moved into dst the
// flags the user may not set there (RFC 4314 §2.1: COPY sets \Seen only
// with "s", \Deleted with "t", the others with "w"), as Dovecot does.
// It is a second transaction: a session may see the flags for a moment.
func (c *Conn) dropCopiedFlags(dst *mailbox.Ref, uids []store.UID) error {
	r := dst.Rights
	if r == mailbox.All || len(uids) == 0 {
		return nil
	}
	var drop store.Flags
	if !r.Has(mailbox.RightSeen) {
		drop.System |= store.FlagSeen
	}
	if !r.Has(mailbox.RightDeleteMsg) {
		drop.System |= store.FlagDeleted
	}
	st := c.srv.cfg.Store
	if !r.Has(mailbox.RightWrite) {
		for _, f := range []string{`\Answered`, `\Flagged`, `\Draft`} {
			if sf, ok := store.ParseSysFlag(f); ok {
				drop.System |= sf
			}
		}
		kws, err := st.Keywords(c.ctx(), dst.ID)
		if err != nil {
			return err
		}
		drop.Keywords = kws
	}
	if drop.System == 0 && len(drop.Keywords) == 0 {
		return nil
	}
	sorted := slices.Clone(uids)
	slices.Sort(sorted)
	_, _, changes, err := st.StoreFlags(c.ctx(), dst.ID, sorted, store.FlagsRemove, drop, 0)
	if err != nil {
		return err
	}
	c.publish(changes)
	return nil
}
