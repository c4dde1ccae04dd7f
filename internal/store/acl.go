package store

import (
	"context"
	"strings"
)

// ACLEntry is one entry of a mailbox's access control list (RFC 4314
// §2): an identifier ("bob", "anyone", "authenticated", "$group", or
// any of those prefixed with "-" for negative rights) and its rights,
// as the letters of "lrswipkxtea" in that order. The store keeps the
// strings as given; internal/mailbox interprets them.
type ACLEntry struct {
	Identifier string
	Rights     string
}

// SharedMailbox is a mailbox of another account reached through an ACL
// entry, with the name of the account that owns it and the entries of
// its ACL that apply to the caller (see ACLStore.SharedWith).
type SharedMailbox struct {
	Mailbox Mailbox
	Owner   string
	// ACL holds the mailbox's entries that apply, ordered by
	// identifier: those of the identifiers asked for, of the account's
	// stored groups ("$g"), and of both with "-" (negative rights).
	ACL []ACLEntry
}

// AppendShared appends sm to out unless none of its entries grants
// anything (it is empty, or only negative entries apply): both
// backends' SharedWith leave such mailboxes out.
func AppendShared(out []SharedMailbox, sm SharedMailbox) []SharedMailbox {
	for _, e := range sm.ACL {
		if !strings.HasPrefix(e.Identifier, "-") {
			return append(out, sm)
		}
	}
	return out
}

// GroupMember is one member of a group (the "$name" ACL identifiers,
// RFC 4314 §2 leaves their definition to the server).
type GroupMember struct {
	Group   string
	Account string
}

// ACLStore keeps mailbox ACLs and the groups defined with `barid group`.
// Both backends implement it; storetest proves them. A mailbox's ACL
// goes with the mailbox: DeleteMailbox and DeleteAccount drop it, and
// RenameMailbox keeps it (the mailbox keeps its id).
type ACLStore interface {
	// ACL returns the mailbox's entries ordered by identifier.
	ACL(ctx context.Context, mailboxID int64) ([]ACLEntry, error)
	// SetACL replaces identifier's entry; rights "" removes it.
	// ErrNoMailbox if the mailbox does not exist.
	SetACL(ctx context.Context, mailboxID int64, identifier, rights string) error
	// SharedWith returns the mailboxes of accounts other than accountID
	// that have an ACL entry for one of identifiers or for "$g", g a
	// group that account (an account name) belongs to in the store
	// (SetGroupMember), with their owners, ordered by owner and name.
	// Each comes with the entries that apply (SharedMailbox.ACL), so
	// that the caller works out the rights without reading the ACL or
	// the groups again: LIST costs one query more with ACLs than
	// without (docs/benchmarks.md, issue #13). A mailbox whose only
	// entries that apply are negative is left out.
	SharedWith(ctx context.Context, accountID int64, account string, identifiers []string) ([]SharedMailbox, error)
	// SetGroupMember adds (on) or removes account from group. When the
	// membership changed it returns a ChangeACL for every mailbox whose
	// ACL names "$group" or "-$group" (its rights changed for account),
	// for the caller to publish as for SetACL; PostgreSQL also sends
	// them to the other nodes.
	SetGroupMember(ctx context.Context, group, account string, on bool) ([]Change, error)
	// GroupMembers lists every stored membership ordered by group, then
	// account.
	GroupMembers(ctx context.Context) ([]GroupMember, error)
	// AccountGroups lists the stored groups account (a name) belongs
	// to, sorted: what rights need, without reading every membership.
	AccountGroups(ctx context.Context, account string) ([]string, error)
}

// ListReader is an optional acceleration for LIST: Store.Mailboxes and
// ACLStore.SharedWith with the same arguments, answered together so
// that a store over a network (PostgreSQL) pays one round trip instead
// of two. Each result is what the method alone would return.
type ListReader interface {
	MailboxesShared(ctx context.Context, accountID int64, account string, identifiers []string) ([]Mailbox, []SharedMailbox, error)
}
