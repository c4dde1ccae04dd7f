package server

import (
	"errors"
	"strings"

	"barid/internal/mailbox"
	"barid/internal/store"
)

// NOTIFY (RFC 5465) on shared mailboxes (RFC 4314, docs/sharing.md):
// while a NOTIFY SET covers mailboxes other than the selected one, the
// session watches, besides its own account, every mailbox of another
// account it may look up ("Other Users/…", "Shared/…"). Their message
// events become STATUS only while the user may read the mailbox ("r"),
// under the user's name for it and with the user's own \Seen; the
// owner's CREATE, DELETE and RENAME of a watched mailbox, and an ACL
// change that gives or takes "l" (§5.4), become LIST. The PERSONAL and
// INBOXES specifiers cover the user's own mailboxes only (§6.2, §6.3);
// SUBSCRIBED, SUBTREE and MAILBOXES cover shared ones by name.

// sharedNote is a shared mailbox the session may look up.
type sharedNote struct {
	owner  int64
	prefix string // the user's name for it less the owner's ("Other Users/bob/")
	name   string // the user's name for it
}

// watchShared reads the shared mailboxes the user may look up and
// tells the bus to carry their changes, when NOTIFY covers other
// mailboxes; otherwise it stops watching them.
func (c *Conn) watchShared() {
	n := c.notify
	n.shared = nil
	if n.spec == nil || n.spec.others == 0 || c.account == nil {
		if c.sub != nil {
			c.sub.WatchShared(nil)
		}
		return
	}
	refs, err := c.mailboxes().List(c.ctx(), c.user())
	if err != nil {
		c.log.Warn("NOTIFY: listing shared mailboxes", "err", err)
		return
	}
	n.shared = make(map[int64]*sharedNote)
	for i := range refs {
		r := &refs[i]
		if !r.Shared() {
			continue
		}
		n.shared[r.ID] = &sharedNote{owner: r.AccountID, prefix: strings.TrimSuffix(r.Name, r.Local), name: r.Name}
	}
	c.rewatchShared()
}

// rewatchShared gives the bus the current set of n.shared.
func (c *Conn) rewatchShared() {
	if c.sub == nil {
		return
	}
	m := make(map[int64][]int64)
	for id, sh := range c.notify.shared {
		m[sh.owner] = append(m[sh.owner], id)
	}
	c.sub.WatchShared(m)
}

// sharedListChange records the owner's DELETE or RENAME of a watched
// shared mailbox (a change under another account) as the user sees it,
// and reports whether ch was such a change.
func (c *Conn) sharedListChange(ch *store.Change) bool {
	n := c.notify
	switch ch.Kind {
	case store.ChangeMailboxDeleted, store.ChangeMailboxRenamed, store.ChangeMailboxCreated:
	default:
		return false
	}
	sh := n.shared[ch.MailboxID]
	if sh == nil {
		return true
	}
	switch ch.Kind {
	case store.ChangeMailboxDeleted:
		delete(n.shared, ch.MailboxID)
		c.rewatchShared()
		if n.spec.others&evMailboxName != 0 {
			n.lists = append(n.lists, listNote{kind: ch.Kind, name: sh.name})
		}
	case store.ChangeMailboxRenamed:
		old := sh.name
		sh.name = sh.prefix + ch.Name
		if n.spec.others&evMailboxName != 0 {
			n.lists = append(n.lists, listNote{kind: ch.Kind, name: sh.name, oldName: old})
		}
	}
	return true
}

// notifyACLChanges works out, for each mailbox whose ACL changed, whether
// the user gained or lost "l" on it, and records that as the mailbox's
// creation or deletion (RFC 5465 §5.4); the watched set follows.
func (c *Conn) notifyACLChanges() {
	n := c.notify
	if len(n.aclPending) == 0 {
		return
	}
	ids := n.aclPending
	n.aclPending = nil
	if n.shared == nil {
		n.shared = make(map[int64]*sharedNote)
	}
	changed := false
	for _, id := range ids {
		sh := n.shared[id]
		ref, err := c.mailboxes().ResolveID(c.ctx(), c.user(), id, mailbox.RightLookup)
		visible := err == nil
		if err != nil && !errors.Is(err, store.ErrNoMailbox) && !mailbox.IsNoPerm(err) {
			c.log.Warn("NOTIFY: rights after an ACL change", "err", err)
			continue
		}
		if visible && !ref.Shared() {
			continue // the user's own mailbox: always every right
		}
		switch {
		case sh != nil && !visible:
			delete(n.shared, id)
			changed = true
			if n.spec.others&evMailboxName != 0 {
				n.lists = append(n.lists, listNote{kind: store.ChangeMailboxDeleted, name: sh.name})
			}
		case sh == nil && visible:
			n.shared[id] = &sharedNote{owner: ref.AccountID, prefix: strings.TrimSuffix(ref.Name, ref.Local), name: ref.Name}
			changed = true
			if n.spec.others&evMailboxName != 0 {
				n.lists = append(n.lists, listNote{kind: store.ChangeMailboxCreated, name: ref.Name})
			}
		}
	}
	if changed {
		c.rewatchShared()
	}
}

// sharedStatus checks that the user may read the shared mailbox id
// (RFC 4314 §4) and returns the user's name for it, with st.Unseen made
// the user's own when \Seen is private there.
func (c *Conn) sharedStatus(id int64, st *store.Status) (string, error) {
	ref, err := c.mailboxes().ResolveID(c.ctx(), c.user(), id, mailbox.RightRead)
	if err != nil {
		return "", err
	}
	if err := c.privateStatus(&ref.Mailbox, st); err != nil {
		return "", err
	}
	return ref.Name, nil
}
