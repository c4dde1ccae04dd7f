package server

import (
	"strings"

	"barid/internal/imap"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// QUOTA (RFC 9208). barid has one quota root per account, covering all
// its mailboxes, with two resources: STORAGE (the sum of RFC822.SIZE,
// shown in units of 1024 octets, rounded up as Dovecot does) and
// MESSAGE. The session's own root is named "User quota", as Dovecot
// names it; another account's root is "#user/NAME" (RFC 9208 §4.1.2's
// example naming): the public folders' owner's for everyone, any
// account's for quota admins. Usage is charged to the account that
// owns a mailbox, whoever writes to it. The handlers only parse and
// render: which account a name or a root means, and its quota, come
// from the mailbox service (internal/mailbox quota.go).

// QuotaConfig is the IMAP side of [quota].
type QuotaConfig struct {
	// Admins may use SETQUOTA and GETQUOTA on any account's root
	// ([quota] admins). Names are normalised account names.
	Admins []string
}

// ownQuotaRoot is the session's own root, as Dovecot names it.
const ownQuotaRoot = "User quota"

// otherQuotaRootPrefix names another account's root: "#user/NAME".
const otherQuotaRootPrefix = "#user/"

var errNoQuotaRoot = &imap.Error{Type: "NO", Code: imap.CodeNonExistent, Text: "Quota root doesn't exist"}

// isQuotaAdmin reports whether the session's user is in [quota] admins.
func (c *Conn) isQuotaAdmin() bool {
	if c.account == nil {
		return false
	}
	for _, a := range c.srv.cfg.Quota.Admins {
		if store.NormalizeAccountName(a) == c.account.Name {
			return true
		}
	}
	return false
}

// quotaCapabilities are RFC 9208 §3's capabilities; QUOTASET only for
// those who may use SETQUOTA (§4.1.3).
func (c *Conn) quotaCapabilities() []string {
	if !c.mailboxes().Quotas() {
		return nil
	}
	caps := []string{"QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"}
	if c.isQuotaAdmin() {
		caps = append(caps, "QUOTASET")
	}
	return caps
}

// quotaRootName is the root of an account as this session names it.
func (c *Conn) quotaRootName(a mailbox.User) string {
	if a.ID == c.account.ID {
		return ownQuotaRoot
	}
	return otherQuotaRootPrefix + a.Name
}

// resolveQuotaRoot maps a root name to its account (the mailbox
// service decides whose the session may see), or errNoQuotaRoot.
func (c *Conn) resolveQuotaRoot(root string) (mailbox.User, error) {
	if root == ownQuotaRoot {
		return c.user(), nil
	}
	name, ok := strings.CutPrefix(root, otherQuotaRootPrefix)
	if !ok {
		return mailbox.User{}, errNoQuotaRoot
	}
	return c.mailboxes().QuotaAccount(c.ctx(), c.user(), name, c.isQuotaAdmin())
}

// writeQuota writes "* QUOTA root (STORAGE used limit MESSAGE used
// limit)" with the resources that have a limit (RFC 9208 §5.1: a
// resource without a limit is not listed, as in Dovecot).
func (c *Conn) writeQuota(root string, q *store.Quota) {
	c.enc.RawString("* QUOTA ").AString(root).SP().BeginList()
	sep := false
	if q.Limits.Storage > 0 {
		c.enc.RawString("STORAGE ").Number64(kib(q.Usage.Storage)).SP().Number64(q.Limits.Storage / 1024)
		sep = true
	}
	if q.Limits.Messages > 0 {
		if sep {
			c.enc.SP()
		}
		c.enc.RawString("MESSAGE ").Number64(q.Usage.Messages).SP().Number64(q.Limits.Messages)
	}
	c.enc.EndList().CRLF()
}

// kib is bytes in units of 1024 octets, rounded up (RFC 9208 §5.1;
// Dovecot shows 5 bytes as 1).
func kib(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return (n + 1023) / 1024
}

// RFC 9208 §4.1.1 GETQUOTA quota-root
func handleGetQuota(c *Conn, tag string) error {
	var root string
	if !c.dec.ExpectSP() || !c.dec.ExpectAString(&root) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if !c.mailboxes().Quotas() {
		return errNoQuotaRoot
	}
	a, err := c.resolveQuotaRoot(root)
	if err != nil {
		return err
	}
	q, err := c.mailboxes().Quota(c.ctx(), a.ID)
	if err != nil {
		return err
	}
	c.writeQuota(root, q)
	return c.ok(tag, "", "Getquota completed.")
}

// RFC 9208 §4.1.2 GETQUOTAROOT mailbox: the root of the account that
// owns the mailbox. A personal name that does not exist (yet) is the
// session's own account's, as in Dovecot; another user's folder is
// refused ("Not showing other users' quota.", Dovecot's answer, the
// same whether or not it exists) except to quota admins.
func handleGetQuotaRoot(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		return err
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	owner, err := c.mailboxes().QuotaOwner(c.ctx(), c.user(), name, c.isQuotaAdmin())
	if err != nil {
		return err
	}
	c.enc.RawString("* QUOTAROOT ")
	c.writeMailboxName(name)
	if !c.mailboxes().Quotas() {
		c.enc.CRLF()
		return c.ok(tag, "", "Getquotaroot completed.")
	}
	root := c.quotaRootName(owner)
	c.enc.SP().AString(root).CRLF()
	q, err := c.mailboxes().Quota(c.ctx(), owner.ID)
	if err != nil {
		return err
	}
	c.writeQuota(root, q)
	return c.ok(tag, "", "Getquotaroot completed.")
}

// RFC 9208 §4.1.3 SETQUOTA quota-root (resource limit ...), for quota
// admins. A resource the command does not list keeps its limit, as in
// Dovecot; a limit of 0 is "unlimited". STORAGE is in units of 1024
// octets.
func handleSetQuota(c *Conn, tag string) error {
	var root string
	if !c.dec.ExpectSP() || !c.dec.ExpectAString(&root) || !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	set := store.QuotaLimits{Storage: store.QuotaKeep, Messages: store.QuotaKeep}
	var unknown string
	if !c.dec.ExpectList(func() bool {
		var res string
		var n int64
		if !c.dec.ExpectAtom(&res) || !c.dec.ExpectSP() || !c.dec.ExpectNumber64(&n) {
			return false
		}
		switch strings.ToUpper(res) {
		case "STORAGE":
			// RFC 9208 §5.1: units of 1024 octets.
			if n > (1<<63-1)/1024 {
				n = (1<<63 - 1) / 1024
			}
			set.Storage = n * 1024
		case "MESSAGE":
			set.Messages = n
		default:
			if unknown == "" {
				unknown = res
			}
		}
		return true
	}) || !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if !c.isQuotaAdmin() {
		// Dovecot's words; [NOPERM] is RFC 5530's code for it.
		return &imap.Error{Type: "NO", Code: imap.CodeNoPerm, Text: "Quota can be changed only by admin"}
	}
	if unknown != "" {
		// RFC 9208 §4.1.3: a resource the root does not support.
		return &imap.Error{Type: "NO", Code: imap.CodeCannot, Text: "Unsupported quota resource: " + unknown}
	}
	if !c.mailboxes().Quotas() {
		return errNoQuotaRoot
	}
	a, err := c.resolveQuotaRoot(root)
	if err != nil {
		return err
	}
	if err := c.mailboxes().SetQuotaLimits(c.ctx(), a.ID, set); err != nil {
		return err
	}
	q, err := c.mailboxes().Quota(c.ctx(), a.ID)
	if err != nil {
		return err
	}
	c.writeQuota(root, q)
	return c.ok(tag, "", "Setquota completed.")
}

// errOverQuota is the answer to a write over a limit, in Dovecot's
// words (RFC 9208 §4.3 / RFC 5530 [OVERQUOTA]).
var errOverQuota = &imap.Error{Type: "NO", Code: imap.CodeOverQuota, Text: "Quota exceeded (mailbox for user is full)"}

// appendQuota is what an APPEND may still store under the owner's
// limits, read once before its first literal: a literal that cannot fit
// is refused before its "+" (RFC 9208 §4.3; RFC 7888 LITERAL+ literals
// arrive anyway and are skipped). The store checks again, atomically,
// when the messages are committed; this is the early answer.
type appendQuota struct {
	q     store.Quota
	bytes int64 // literal bytes of this command so far
	msgs  int64 // messages of this command so far, the current one included
}

// beginAppendQuota arms the pre-check for an APPEND into mb: the
// mailbox owner's quota, read once. nil when there is no limit.
func (c *Conn) beginAppendQuota(mb *store.Mailbox) (*appendQuota, error) {
	q, err := c.mailboxes().Quota(c.ctx(), mb.AccountID)
	if err != nil || q == nil {
		return nil, err
	}
	if q.Limits.Storage <= 0 && q.Limits.Messages <= 0 {
		return nil, nil
	}
	a := &appendQuota{q: *q}
	c.litCheck = a.check
	return a, nil
}

// next counts the next message of an APPEND (MULTIAPPEND has several).
func (a *appendQuota) next() {
	if a != nil {
		a.msgs++
	}
}

// check is the literal hook's quota check: every literal of the command
// after the mailbox name counts (a CATENATE URL given as a literal too,
// which only makes the early answer stricter by its few bytes).
func (a *appendQuota) check(size int64) error {
	a.bytes += size
	if err := a.q.Limits.Check(store.QuotaUsage{Storage: a.q.Usage.Storage + a.bytes, Messages: a.q.Usage.Messages + a.msgs}); err != nil {
		return errOverQuota
	}
	return nil
}
