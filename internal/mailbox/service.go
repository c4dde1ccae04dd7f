package mailbox

import (
	"context"
	"errors"
	"slices"
	"strings"

	"barid/internal/notify"
	"barid/internal/store"
)

// Config configures a Service.
type Config struct {
	Store store.Store
	// Bus receives every change the service makes; nil publishes
	// nothing (tools).
	Bus *notify.Bus
	// OtherUsers is the prefix of the other users' namespace (RFC 2342
	// §5): "Other Users" gives "Other Users/bob/Folder"; "" turns the
	// namespace off. Default "Other Users".
	OtherUsers string
	// Public is the prefix of the public namespace, whose mailboxes the
	// server account PublicAccount owns; "" turns it off. Default
	// "Shared".
	Public string
	// PublicAccount owns the public mailboxes (`barid mailbox create
	// --shared`). It has no password, so nobody logs in as it. Default
	// PublicAccountName.
	PublicAccount string
	// Groups defines "$name" ACL identifiers from the configuration
	// ([groups] name = ["alice", "bob"]); `barid group add` adds
	// members kept in the store.
	Groups map[string][]string
	// NoACL turns RFC 4314 access control off ([sharing] acl = false):
	// no other users' or public namespace, no ACL read on any path
	// (a user's own mailboxes have every right, no other mailbox is
	// reachable), SETACL and DELETEACL refused (ErrACLOff).
	NoACL bool
}

// ErrACLOff refuses the ACL commands when access control is off.
var ErrACLOff = &Error{KindCannot, "ACLs are turned off on this server ([sharing] acl = false)"}

// PublicAccountName is the default owner of the public namespace: "#"
// cannot start a login name that `barid user add` accepts.
const PublicAccountName = "#public"

// Service applies the mailbox rules. Safe for concurrent use.
type Service struct {
	st  store.Store
	acl store.ACLStore
	cfg Config
}

// New returns a service on cfg.Store, which must implement
// store.ACLStore (both backends do).
func New(cfg Config) *Service {
	if cfg.OtherUsers == "" {
		cfg.OtherUsers = "Other Users"
	}
	if cfg.Public == "" {
		cfg.Public = "Shared"
	}
	if cfg.PublicAccount == "" {
		cfg.PublicAccount = PublicAccountName
	}
	cfg.OtherUsers = strings.TrimSuffix(cfg.OtherUsers, "/")
	cfg.Public = strings.TrimSuffix(cfg.Public, "/")
	s := &Service{st: cfg.Store, cfg: cfg}
	if cfg.NoACL {
		s.cfg.OtherUsers, s.cfg.Public = "", ""
		return s
	}
	s.acl, _ = cfg.Store.(store.ACLStore)
	return s
}

// Store returns the store the service works on.
func (s *Service) Store() store.Store { return s.st }

// OtherUsersPrefix and PublicPrefix are the namespace prefixes, without
// the separator, for NAMESPACE (RFC 2342).
func (s *Service) OtherUsersPrefix() string { return s.cfg.OtherUsers }

// PublicPrefix is the public namespace's prefix.
func (s *Service) PublicPrefix() string { return s.cfg.Public }

// User is the acting user.
type User struct {
	ID   int64
	Name string
}

// Ref is a mailbox as one user sees it: Mailbox.Name is the name in the
// user's namespaces ("Other Users/bob/Folder"), Local the name in the
// owner's account ("Folder").
type Ref struct {
	store.Mailbox
	Local string
	// Owner is the owning account's name when it is not the user's.
	Owner  string
	Rights Rights
}

// Shared reports whether the mailbox belongs to another account.
func (r *Ref) Shared() bool { return r.Owner != "" }

// location is where a user-visible name lives.
type location struct {
	ownerID   int64
	ownerName string // "" for the user's own account
	local     string
}

// locate maps a normalised user-visible name to its owner and local
// name. A name in a namespace that names no account, or names only a
// namespace level ("Other Users/bob"), is store.ErrNoMailbox.
func (s *Service) locate(ctx context.Context, u User, name string) (location, error) {
	if s.cfg.NoACL {
		return location{ownerID: u.ID, local: name}, nil
	}
	if p := s.cfg.OtherUsers + "/"; strings.HasPrefix(name, p) {
		owner, local, _ := strings.Cut(name[len(p):], "/")
		if local == "" {
			return location{}, store.ErrNoMailbox
		}
		acct, err := s.st.Account(ctx, owner)
		if errors.Is(err, store.ErrNoAccount) || (err == nil && acct.Name == s.cfg.PublicAccount) {
			return location{}, store.ErrNoMailbox
		}
		if err != nil {
			return location{}, err
		}
		local, err = Normalize(local)
		if err != nil {
			return location{}, err
		}
		if acct.ID == u.ID {
			return location{ownerID: u.ID, local: local}, nil
		}
		return location{ownerID: acct.ID, ownerName: acct.Name, local: local}, nil
	}
	if p := s.cfg.Public + "/"; strings.HasPrefix(name, p) {
		acct, err := s.st.Account(ctx, s.cfg.PublicAccount)
		if errors.Is(err, store.ErrNoAccount) {
			return location{}, store.ErrNoMailbox
		}
		if err != nil {
			return location{}, err
		}
		return location{ownerID: acct.ID, ownerName: acct.Name, local: name[len(p):]}, nil
	}
	if name == s.cfg.OtherUsers || name == s.cfg.Public {
		return location{}, store.ErrNoMailbox
	}
	return location{ownerID: u.ID, local: name}, nil
}

// visibleName is the name a user sees for an owner's local name.
func (s *Service) visibleName(ownerName, local string) string {
	switch {
	case ownerName == "":
		return local
	case s.cfg.NoACL:
		return local // never shown: no other owner's mailbox is reachable
	}
	switch ownerName {
	case s.cfg.PublicAccount:
		return s.cfg.Public + "/" + local
	}
	return s.cfg.OtherUsers + "/" + ownerName + "/" + local
}

// NameFor is the name u sees for the mailbox local of account owner:
// local itself in u's own account, else its name in the other users'
// or the public namespace. It says nothing of rights.
func (s *Service) NameFor(ctx context.Context, u User, owner int64, local string) (string, error) {
	if owner == u.ID {
		return local, nil
	}
	acct, err := s.st.AccountByID(ctx, owner)
	if err != nil {
		return "", err
	}
	return s.visibleName(acct.Name, local), nil
}

// Personal reports whether a name u sees is in u's personal namespace
// (RFC 2342; RFC 5465 §6.2 "personal").
func (s *Service) Personal(name string) bool { return !s.shadowed(name) }

// check applies need to rights (RFC 4314 §4): a mailbox the user may
// not look up is reported as missing, one they may see as NOPERM.
func check(r, need Rights) error {
	if r == 0 || (!r.Has(need) && r&RightLookup == 0) {
		return store.ErrNoMailbox
	}
	if !r.Has(need) {
		return ErrNoPerm
	}
	return nil
}

// Resolve finds the mailbox a user names and checks that the user has
// the rights need. name is decoded UTF-8 (the IMAP layer decodes
// modified UTF-7).
func (s *Service) Resolve(ctx context.Context, u User, name string, need Rights) (*Ref, error) {
	name, err := Normalize(name)
	if err != nil {
		return nil, err
	}
	loc, err := s.locate(ctx, u, name)
	if err != nil {
		return nil, err
	}
	mb, err := s.st.Mailbox(ctx, loc.ownerID, loc.local)
	if err != nil {
		return nil, err
	}
	return s.ref(ctx, u, loc.ownerName, mb, need)
}

// ResolveID is Resolve for a mailbox known by id (a NOTIFY or change
// bus event): the user's view of it, or store.ErrNoMailbox.
func (s *Service) ResolveID(ctx context.Context, u User, id int64, need Rights) (*Ref, error) {
	mb, err := s.st.MailboxByID(ctx, id)
	if err != nil {
		return nil, err
	}
	owner := ""
	if mb.AccountID != u.ID {
		acct, err := s.st.AccountByID(ctx, mb.AccountID)
		if err != nil {
			return nil, store.ErrNoMailbox
		}
		owner = acct.Name
	}
	return s.ref(ctx, u, owner, mb, need)
}

func (s *Service) ref(ctx context.Context, u User, owner string, mb *store.Mailbox, need Rights) (*Ref, error) {
	r, err := s.Rights(ctx, u, mb)
	if err != nil {
		return nil, err
	}
	if err := check(r, need); err != nil {
		return nil, err
	}
	ref := &Ref{Mailbox: *mb, Local: mb.Name, Owner: owner, Rights: r}
	ref.Name = s.visibleName(owner, mb.Name)
	if owner != "" {
		ref.Subscribed = false
	}
	return ref, nil
}

// Rights computes u's rights on mb (RFC 4314 §2): every right for the
// owner; otherwise the union of the matching entries' rights less the
// union of the matching negative entries' rights.
func (s *Service) Rights(ctx context.Context, u User, mb *store.Mailbox) (Rights, error) {
	if mb.AccountID == u.ID {
		return All, nil
	}
	if s.acl == nil { // no ACL store, or access control off
		return 0, nil
	}
	entries, err := s.acl.ACL(ctx, mb.ID)
	if err != nil {
		return 0, err
	}
	var groups []string
	groupsRead := false
	var pos, neg Rights
	for _, e := range entries {
		id, _ := strings.CutPrefix(e.Identifier, "-")
		match := false
		switch {
		case id == "anyone", id == "authenticated":
			match = true
		case strings.HasPrefix(id, "$"):
			if !groupsRead {
				if groups, err = s.GroupsOf(ctx, u.Name); err != nil {
					return 0, err
				}
				groupsRead = true
			}
			match = slices.Contains(groups, id[1:])
		default:
			match = store.NormalizeAccountName(id) == u.Name
		}
		if match {
			addEntry(&pos, &neg, e)
		}
	}
	return pos &^ neg, nil
}

// addEntry adds an entry that applies to the user to the positive or
// the negative rights (RFC 4314 §2).
func addEntry(pos, neg *Rights, e store.ACLEntry) {
	r, _ := ParseRights(e.Rights)
	if strings.HasPrefix(e.Identifier, "-") {
		*neg |= r
	} else {
		*pos |= r
	}
}

// configGroups lists the [groups] of the configuration account is in.
func (s *Service) configGroups(account string) []string {
	var out []string
	for g, ms := range s.cfg.Groups {
		for _, m := range ms {
			if store.NormalizeAccountName(m) == account {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// GroupsOf lists the groups account belongs to: [groups] in the
// configuration and `barid group add`.
func (s *Service) GroupsOf(ctx context.Context, account string) ([]string, error) {
	account = store.NormalizeAccountName(account)
	out := s.configGroups(account)
	if s.acl != nil {
		gs, err := s.acl.AccountGroups(ctx, account)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// List returns every mailbox u can look up: their own, then those of
// other accounts and public ones whose ACL grants u "l", each with its
// visible name and u's rights.
func (s *Service) List(ctx context.Context, u User) ([]Ref, error) {
	var (
		own     []store.Mailbox
		withACL []store.SharedMailbox
		err     error
	)
	// One query finds the mailboxes and the entries that apply to u:
	// its name, anyone, authenticated, its groups (the store adds those
	// it keeps), each also negative (docs/benchmarks.md, issue #13).
	var ids []string
	if s.acl != nil {
		ids = []string{u.Name, "anyone", "authenticated"}
		for _, g := range s.configGroups(u.Name) {
			ids = append(ids, "$"+g)
		}
	}
	if lr, ok := s.st.(store.ListReader); ok && s.acl != nil {
		own, withACL, err = lr.MailboxesShared(ctx, u.ID, u.Name, ids)
	} else {
		own, err = s.st.Mailboxes(ctx, u.ID)
		if err == nil && s.acl != nil {
			withACL, err = s.acl.SharedWith(ctx, u.ID, u.Name, ids)
		}
	}
	if err != nil {
		return nil, err
	}
	out := make([]Ref, 0, len(own))
	for _, mb := range own {
		if s.shadowed(mb.Name) {
			continue
		}
		out = append(out, Ref{Mailbox: mb, Local: mb.Name, Rights: All})
	}
	for i := range withACL {
		sh := &withACL[i]
		var pos, neg Rights
		for _, e := range sh.ACL {
			addEntry(&pos, &neg, e)
		}
		r := pos &^ neg
		if r&RightLookup == 0 {
			continue
		}
		ref := Ref{Mailbox: sh.Mailbox, Local: sh.Mailbox.Name, Owner: sh.Owner, Rights: r}
		ref.Name = s.visibleName(sh.Owner, sh.Mailbox.Name)
		ref.Subscribed = false
		out = append(out, ref)
	}
	return out, nil
}

func (s *Service) publish(ctx context.Context, changes []store.Change) {
	if s.cfg.Bus != nil && len(changes) > 0 {
		s.cfg.Bus.PublishFrom(notify.Origin(ctx), changes)
	}
}

// shadowed reports whether a personal mailbox's name falls inside one
// of the shared namespaces, where names resolve to other owners: such a
// mailbox (made before the namespaces existed) is not listed, since no
// command could reach it.
func (s *Service) shadowed(name string) bool {
	if s.cfg.NoACL {
		return false
	}
	for _, p := range []string{s.cfg.OtherUsers, s.cfg.Public} {
		if name == p || strings.HasPrefix(name, p+"/") {
			return true
		}
	}
	return false
}
