package mailbox

import (
	"context"
	"errors"
	"strings"

	"barid/internal/store"
)

// Create makes a mailbox (RFC 9051 §6.3.4), with any missing superiors
// in the user's own namespace. In another owner's namespace (RFC 4314
// §4: "k" on the parent) the parent must exist and grant "k"; the new
// mailbox starts with its parent's ACL, as Dovecot does. Any refusal
// there is the same NOPERM, so it tells nothing about the parent.
func (s *Service) Create(ctx context.Context, u User, name, specialUse string) (*Ref, error) {
	name, err := Normalize(name)
	if err != nil {
		return nil, err
	}
	if name == "INBOX" {
		return nil, &Error{KindExists, "INBOX always exists"}
	}
	loc, err := s.locate(ctx, u, name)
	if errors.Is(err, store.ErrNoMailbox) {
		return nil, ErrNoPerm
	}
	if err != nil {
		return nil, err
	}
	if loc.ownerName == "" {
		mb, err := s.createWithParents(ctx, u.ID, loc.local, specialUse)
		if err != nil {
			return nil, err
		}
		return &Ref{Mailbox: *mb, Local: mb.Name, Rights: All}, nil
	}
	i := strings.LastIndexByte(loc.local, '/')
	if i < 0 {
		return nil, ErrNoPerm
	}
	parent, err := s.st.Mailbox(ctx, loc.ownerID, loc.local[:i])
	if errors.Is(err, store.ErrNoMailbox) {
		return nil, ErrNoPerm
	}
	if err != nil {
		return nil, err
	}
	pr, err := s.ref(ctx, u, loc.ownerName, parent, RightCreate)
	if errors.Is(err, store.ErrNoMailbox) || IsNoPerm(err) {
		return nil, ErrNoPerm
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.st.Mailbox(ctx, loc.ownerID, loc.local); err == nil {
		return nil, store.ErrMailboxExists
	}
	mb, changes, err := s.st.CreateMailbox(ctx, loc.ownerID, loc.local, specialUse)
	if err != nil {
		return nil, err
	}
	if s.acl != nil {
		entries, err := s.acl.ACL(ctx, pr.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if err := s.acl.SetACL(ctx, mb.ID, e.Identifier, e.Rights); err != nil {
				return nil, err
			}
		}
	}
	s.publish(ctx, changes)
	if s.acl != nil {
		s.aclChanged(ctx, mb.AccountID, mb.ID, mb.Name)
	}
	return s.ref(ctx, u, loc.ownerName, mb, 0)
}

// CreateOwned makes a mailbox with missing parents in accountID's own
// namespace, for tools and delivery (no rights involved).
func (s *Service) CreateOwned(ctx context.Context, accountID int64, name, specialUse string) (*store.Mailbox, error) {
	name, err := Normalize(name)
	if err != nil {
		return nil, err
	}
	return s.createWithParents(ctx, accountID, name, specialUse)
}

func (s *Service) createWithParents(ctx context.Context, accountID int64, name, specialUse string) (*store.Mailbox, error) {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		if _, err := s.st.Mailbox(ctx, accountID, parent); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNoMailbox) {
			return nil, err
		}
		_, changes, err := s.st.CreateMailbox(ctx, accountID, parent, "")
		if err != nil && !errors.Is(err, store.ErrMailboxExists) {
			return nil, err
		}
		s.publish(ctx, changes)
	}
	mb, changes, err := s.st.CreateMailbox(ctx, accountID, name, specialUse)
	if err != nil {
		return nil, err
	}
	s.publish(ctx, changes)
	return mb, nil
}

// Delete removes a mailbox (RFC 9051 §6.3.5; RFC 4314 §4 needs "x").
// The user's INBOX cannot be deleted.
func (s *Service) Delete(ctx context.Context, u User, name string) error {
	ref, err := s.Resolve(ctx, u, name, RightDelete)
	if err != nil {
		return err
	}
	if ref.Local == "INBOX" {
		return &Error{KindCannot, "INBOX can't be deleted."}
	}
	changes, err := s.st.DeleteMailbox(ctx, ref.AccountID, ref.Local)
	if err != nil {
		return err
	}
	s.publish(ctx, changes)
	return nil
}

// Rename renames a mailbox and its inferiors (RFC 9051 §6.3.6), or
// moves INBOX's messages to a new mailbox and leaves INBOX empty.
// Superiors of the new name are created as needed, and subscriptions
// follow the renamed mailboxes, as Dovecot does. RFC 4314 §4: "x" on
// the old name and "k" on the new parent; both names must have the
// same owner. It returns the store's rename changes (for RFC 9051
// §6.3.9.7 OLDNAME), empty for INBOX.
func (s *Service) Rename(ctx context.Context, u User, from, to string) ([]store.Change, error) {
	to, err := Normalize(to)
	if err != nil {
		return nil, err
	}
	src, err := s.Resolve(ctx, u, from, RightDelete)
	if err != nil {
		return nil, err
	}
	from = src.Name
	if to == "INBOX" {
		return nil, &Error{KindExists, "INBOX already exists"}
	}
	if to == from || strings.HasPrefix(to, from+"/") {
		return nil, &Error{KindCannot, "Can't rename a mailbox to itself or under itself"}
	}
	// A target in another owner's namespace, or naming no account, gets
	// one answer, so RENAME cannot probe which accounts exist.
	errOther := &Error{KindCannot, "Can't rename a mailbox to another namespace"}
	dst, err := s.locate(ctx, u, to)
	if errors.Is(err, store.ErrNoMailbox) {
		return nil, errOther
	}
	if err != nil {
		return nil, err
	}
	if dst.ownerID != src.AccountID {
		return nil, errOther
	}
	if _, err := s.st.Mailbox(ctx, dst.ownerID, dst.local); err == nil {
		return nil, &Error{KindExists, "Target mailbox already exists"}
	}
	if i := strings.LastIndexByte(dst.local, '/'); i > 0 {
		parent := dst.local[:i]
		pm, err := s.st.Mailbox(ctx, dst.ownerID, parent)
		switch {
		case errors.Is(err, store.ErrNoMailbox):
			if dst.ownerName != "" {
				return nil, ErrNoPerm
			}
			if _, err := s.createWithParents(ctx, dst.ownerID, parent, ""); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		default:
			if _, err := s.ref(ctx, u, dst.ownerName, pm, RightCreate); err != nil {
				return nil, ErrNoPerm
			}
		}
	} else if dst.ownerName != "" {
		return nil, ErrNoPerm
	}
	if src.Local == "INBOX" {
		nmb, changes, err := s.st.CreateMailbox(ctx, dst.ownerID, dst.local, "")
		if err != nil {
			return nil, err
		}
		s.publish(ctx, changes)
		_, uids, err := s.st.MessageUIDs(ctx, src.ID)
		if err != nil {
			return nil, err
		}
		if len(uids) > 0 {
			_, changes, err := s.st.MoveMessages(ctx, src.ID, uids, nmb.ID)
			if err != nil {
				return nil, err
			}
			s.publish(ctx, changes)
		}
		return nil, nil
	}
	changes, err := s.st.RenameMailbox(ctx, src.AccountID, src.Local, dst.local)
	if err != nil {
		return nil, err
	}
	s.publish(ctx, changes)
	if src.Shared() {
		return nil, nil
	}
	if subs, err := s.st.Subscriptions(ctx, u.ID); err == nil {
		for _, sname := range subs {
			if sname != from && !strings.HasPrefix(sname, from+"/") {
				continue
			}
			nn := to + sname[len(from):]
			if ch, err := s.st.SetSubscribed(ctx, u.ID, sname, false); err == nil {
				s.publish(ctx, ch)
			}
			if ch, err := s.st.SetSubscribed(ctx, u.ID, nn, true); err == nil {
				s.publish(ctx, ch)
			}
		}
	}
	return changes, nil
}

// SetSubscribed subscribes or unsubscribes a name (RFC 9051 §6.3.7); the
// name need not exist.
func (s *Service) SetSubscribed(ctx context.Context, u User, name string, on bool) error {
	name, err := Normalize(name)
	if err != nil {
		return err
	}
	changes, err := s.st.SetSubscribed(ctx, u.ID, name, on)
	if err != nil {
		return err
	}
	s.publish(ctx, changes)
	return nil
}

// Subscriptions lists the user's subscribed names.
func (s *Service) Subscriptions(ctx context.Context, u User) ([]string, error) {
	return s.st.Subscriptions(ctx, u.ID)
}
