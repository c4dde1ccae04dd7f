package mailbox

import (
	"context"
	"strings"

	"barid/internal/store"
)

// ErrBadRights is an unknown right letter in SETACL (RFC 4314 §3.1:
// answered with BAD).
var ErrBadRights = &Error{KindCannot, "Unknown right in rights string"}

// validIdentifier refuses identifiers that could never name anyone.
func validIdentifier(id string) error {
	id = strings.TrimPrefix(id, "-")
	if id == "" || id == "$" || len(id) > 255 || strings.ContainsAny(id, "\x00\r\n") {
		return &Error{KindCannot, "Invalid ACL identifier"}
	}
	return nil
}

// normIdentifier lower-cases a user identifier as account names are;
// anyone, authenticated and groups are kept.
func normIdentifier(id string) string {
	neg := strings.HasPrefix(id, "-")
	bare := strings.TrimPrefix(id, "-")
	switch {
	case strings.EqualFold(bare, "anyone"), strings.EqualFold(bare, "authenticated"):
		bare = strings.ToLower(bare)
	case strings.HasPrefix(bare, "$"):
	default:
		bare = store.NormalizeAccountName(bare)
	}
	if neg {
		return "-" + bare
	}
	return bare
}

// ACL returns the mailbox's ACL for GETACL (RFC 4314 §3.3, needs "a").
// The owner's implicit rights come first when no entry names the owner.
func (s *Service) ACL(ctx context.Context, u User, name string) (*Ref, []store.ACLEntry, error) {
	ref, err := s.Resolve(ctx, u, name, RightAdmin)
	if err != nil {
		return nil, nil, err
	}
	var entries []store.ACLEntry
	if s.acl != nil {
		if entries, err = s.acl.ACL(ctx, ref.ID); err != nil {
			return nil, nil, err
		}
	}
	owner := ref.Owner
	if owner == "" {
		owner = u.Name
	}
	if owner != s.cfg.PublicAccount {
		named := false
		for _, e := range entries {
			if e.Identifier == owner {
				named = true
			}
		}
		if !named {
			entries = append([]store.ACLEntry{{Identifier: owner, Rights: All.String()}}, entries...)
		}
	}
	return ref, entries, nil
}

// SetACL changes identifier's rights (RFC 4314 §3.1, needs "a"): mod
// "+rights" adds, "-rights" removes, plain rights replace. Rights that
// end up empty remove the entry.
func (s *Service) SetACL(ctx context.Context, u User, name, identifier, mod string) error {
	if s.cfg.NoACL {
		return ErrACLOff
	}
	if err := validIdentifier(identifier); err != nil {
		return err
	}
	identifier = normIdentifier(identifier)
	op := byte(0)
	if mod != "" && (mod[0] == '+' || mod[0] == '-') {
		op, mod = mod[0], mod[1:]
	}
	r, ok := ParseRights(mod)
	if !ok {
		return ErrBadRights
	}
	ref, err := s.Resolve(ctx, u, name, RightAdmin)
	if err != nil {
		return err
	}
	return s.setRights(ctx, ref.AccountID, ref.ID, ref.Local, identifier, op, r)
}

// SetACLOwned is SetACL for tools: accountID's own mailbox, no rights
// checked.
func (s *Service) SetACLOwned(ctx context.Context, accountID int64, name, identifier, mod string) error {
	if s.cfg.NoACL {
		return ErrACLOff
	}
	if err := validIdentifier(identifier); err != nil {
		return err
	}
	identifier = normIdentifier(identifier)
	op := byte(0)
	if mod != "" && (mod[0] == '+' || mod[0] == '-') {
		op, mod = mod[0], mod[1:]
	}
	r, ok := ParseRights(mod)
	if !ok {
		return ErrBadRights
	}
	mb, err := s.st.Mailbox(ctx, accountID, name)
	if err != nil {
		return err
	}
	return s.setRights(ctx, mb.AccountID, mb.ID, mb.Name, identifier, op, r)
}

// aclChanged tells every session that the ACL of the owner's mailbox
// (local name) changed, so that those whose rights it changes learn it
// at once (docs/sharing.md "Live changes"): notify.Bus gives
// store.ChangeACL to every subscription. On PostgreSQL the store's
// SetACL also sends it to the other nodes.
func (s *Service) aclChanged(ctx context.Context, owner, mailboxID int64, local string) {
	s.publish(ctx, []store.Change{{Kind: store.ChangeACL, AccountID: owner, MailboxID: mailboxID, Name: local}})
}

func (s *Service) setRights(ctx context.Context, owner, mailboxID int64, local, identifier string, op byte, r Rights) error {
	if s.acl == nil {
		return &Error{KindCannot, "ACLs are not supported by this store"}
	}
	if op != 0 {
		entries, err := s.acl.ACL(ctx, mailboxID)
		if err != nil {
			return err
		}
		var cur Rights
		for _, e := range entries {
			if e.Identifier == identifier {
				cur, _ = ParseRights(e.Rights)
			}
		}
		if op == '+' {
			r = cur | r
		} else {
			r = cur &^ r
		}
	}
	if err := s.acl.SetACL(ctx, mailboxID, identifier, r.String()); err != nil {
		return err
	}
	s.aclChanged(ctx, owner, mailboxID, local)
	return nil
}

// DeleteACL removes identifier's entry (RFC 4314 §3.2, needs "a").
func (s *Service) DeleteACL(ctx context.Context, u User, name, identifier string) error {
	if s.cfg.NoACL {
		return ErrACLOff
	}
	if err := validIdentifier(identifier); err != nil {
		return err
	}
	ref, err := s.Resolve(ctx, u, name, RightAdmin)
	if err != nil {
		return err
	}
	if s.acl == nil {
		return nil
	}
	if err := s.acl.SetACL(ctx, ref.ID, normIdentifier(identifier), ""); err != nil {
		return err
	}
	s.aclChanged(ctx, ref.AccountID, ref.ID, ref.Local)
	return nil
}

// ListRights answers LISTRIGHTS (RFC 4314 §3.4, needs "a"): the rights
// identifier always has and those that may be granted, each alone. The
// owner always has every right; anyone else has none for sure and may
// be granted each, as Dovecot answers.
func (s *Service) ListRights(ctx context.Context, u User, name, identifier string) (*Ref, Rights, []Rights, error) {
	ref, err := s.Resolve(ctx, u, name, RightAdmin)
	if err != nil {
		return nil, 0, nil, err
	}
	owner := ref.Owner
	if owner == "" {
		owner = u.Name
	}
	if normIdentifier(identifier) == owner {
		return ref, All, nil, nil
	}
	var opt []Rights
	for i := 0; i < len(RightLetters); i++ {
		opt = append(opt, 1<<i)
	}
	return ref, 0, opt, nil
}

// MyRights answers MYRIGHTS (RFC 4314 §3.5): any right on the mailbox
// lets the user ask.
func (s *Service) MyRights(ctx context.Context, u User, name string) (*Ref, error) {
	return s.Resolve(ctx, u, name, 0)
}

// SetGroupMember adds or removes a stored group member and tells live
// sessions (docs/sharing.md "Live changes"): a store.ChangeACL for
// each mailbox whose ACL names the group, when the membership changed.
func (s *Service) SetGroupMember(ctx context.Context, group, account string, on bool) error {
	group = strings.TrimPrefix(group, "$")
	if group == "" || strings.ContainsAny(group, " \t\r\n") {
		return &Error{KindCannot, "Invalid group name"}
	}
	if s.acl == nil {
		return &Error{KindCannot, "Groups are not supported by this store"}
	}
	ch, err := s.acl.SetGroupMember(ctx, group, store.NormalizeAccountName(account), on)
	if err != nil {
		return err
	}
	// The member's rights changed on every mailbox whose ACL names the
	// group: sessions work theirs out again, as after SETACL.
	s.publish(ctx, ch)
	return nil
}

// GroupMembers lists stored and configured members, group by group.
func (s *Service) GroupMembers(ctx context.Context) ([]store.GroupMember, error) {
	var out []store.GroupMember
	if s.acl != nil {
		ms, err := s.acl.GroupMembers(ctx)
		if err != nil {
			return nil, err
		}
		out = ms
	}
	for g, ms := range s.cfg.Groups {
		for _, m := range ms {
			out = append(out, store.GroupMember{Group: g, Account: store.NormalizeAccountName(m)})
		}
	}
	return out, nil
}
