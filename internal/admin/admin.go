package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"barid/internal/blob"
	"barid/internal/imap/server"
	"barid/internal/mailbox"
	"barid/internal/store"
)

// Service runs operator actions on opened stores.
type Service struct {
	Store store.Store
	Blobs blob.Store
	// Publish puts committed changes on the running server's change bus;
	// nil when the CLI works on the data folder directly.
	Publish func([]store.Change)
	// Now is the clock relative dates are resolved against (nil:
	// time.Now).
	Now func() time.Time
	// Mailboxes is the mailbox service with the configured namespaces
	// and groups (internal/app.MailboxService); nil: one with the
	// defaults on Store. Its changes go to its own bus.
	Mailboxes *mailbox.Service

	mboxOnce sync.Once
}

func (s *Service) publish(ch []store.Change) {
	if s.Publish != nil && len(ch) > 0 {
		s.Publish(ch)
	}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// MailboxInfo is one mailbox as "barid mailbox list/status" print it.
type MailboxInfo struct {
	Name          string `json:"name"`
	SpecialUse    string `json:"special_use,omitempty"`
	Subscribed    bool   `json:"subscribed"`
	Messages      uint32 `json:"messages"`
	Unseen        uint32 `json:"unseen"`
	Deleted       uint32 `json:"deleted"`
	Size          int64  `json:"size"`
	UIDValidity   uint32 `json:"uidvalidity"`
	UIDNext       uint32 `json:"uidnext"`
	HighestModSeq uint64 `json:"highestmodseq"`
}

func (s *Service) account(ctx context.Context, user string) (*store.Account, error) {
	a, err := s.Store.Account(ctx, store.NormalizeAccountName(user))
	if errors.Is(err, store.ErrNoAccount) {
		return nil, fmt.Errorf("no account %q", store.NormalizeAccountName(user))
	}
	return a, err
}

// mailboxes is the mailbox service the verbs go through, so that the
// command line follows the same rules as IMAP (names, namespaces,
// rights, create-with-parents, RENAME of INBOX, subscriptions carried
// across a rename): Mailboxes, or one with the default namespaces.
func (s *Service) mailboxes() *mailbox.Service {
	s.mboxOnce.Do(func() {
		if s.Mailboxes == nil {
			s.Mailboxes = mailbox.New(mailbox.Config{Store: s.Store})
		}
	})
	return s.Mailboxes
}

// user resolves the account the verb acts as.
func (s *Service) user(ctx context.Context, name string) (*store.Account, mailbox.User, error) {
	a, err := s.account(ctx, name)
	if err != nil {
		return nil, mailbox.User{}, err
	}
	return a, mailbox.User{ID: a.ID, Name: a.Name}, nil
}

// mailbox resolves a mailbox by the name user sees (their own, or
// "Other Users/…" and "Shared/…" where the ACL lets them), with the
// rights need (RFC 4314 §4), through the mailbox service.
func (s *Service) mailbox(ctx context.Context, user, name string, need mailbox.Rights) (*store.Account, *mailbox.Ref, error) {
	a, u, err := s.user(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	ref, err := s.mailboxes().Resolve(ctx, u, name, need)
	if errors.Is(err, store.ErrNoMailbox) {
		n, nerr := server.NormalizeMailboxName(name)
		if nerr != nil {
			n = name
		}
		return nil, nil, fmt.Errorf("%s has no mailbox %q", a.Name, n)
	}
	if err != nil {
		return nil, nil, cliError(err)
	}
	return a, ref, nil
}

// cliError turns a mailbox rule's refusal into the command line's
// wording.
func cliError(err error) error {
	switch {
	case mailbox.IsNoPerm(err):
		return fmt.Errorf("permission denied (RFC 4314 ACL)")
	case errors.Is(err, store.ErrMailboxInferior):
		return fmt.Errorf("mailbox has inferior mailboxes: delete them first")
	}
	var me *mailbox.Error
	if errors.As(err, &me) {
		return errors.New(strings.TrimSuffix(me.Text, "."))
	}
	return err
}

func info(st *store.Status, name string, subscribed bool) MailboxInfo {
	mb := st.Mailbox
	return MailboxInfo{Name: name, SpecialUse: mb.SpecialUse, Subscribed: subscribed,
		Messages: st.Messages, Unseen: st.Unseen, Deleted: st.Deleted, Size: st.Size,
		UIDValidity: mb.UIDValidity, UIDNext: uint32(mb.UIDNext), HighestModSeq: uint64(mb.HighestModSeq)}
}

// ListMailboxes lists the mailboxes user may look up with their counts,
// by name: their own, then those shared with them (those they may not
// read, "r", are listed without counts).
func (s *Service) ListMailboxes(ctx context.Context, user string) ([]MailboxInfo, error) {
	a, u, err := s.user(ctx, user)
	if err != nil {
		return nil, err
	}
	refs, err := s.mailboxes().List(ctx, u)
	if err != nil {
		return nil, err
	}
	subs, err := s.subscribed(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	out := make([]MailboxInfo, 0, len(refs))
	for _, r := range refs {
		if !r.Rights.Has(mailbox.RightRead) {
			out = append(out, MailboxInfo{Name: r.Name, SpecialUse: r.SpecialUse, Subscribed: subs[r.Name]})
			continue
		}
		st, err := s.Store.MailboxStatus(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, info(st, r.Name, subs[r.Name]))
	}
	return out, nil
}

func (s *Service) subscribed(ctx context.Context, accountID int64) (map[string]bool, error) {
	names, err := s.Store.Subscriptions(ctx, accountID)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m, nil
}

// Status is one mailbox's counts (IMAP STATUS, RFC 9051 §6.3.11; RFC
// 4314 §4: needs "r").
func (s *Service) Status(ctx context.Context, user, name string) (*MailboxInfo, error) {
	a, ref, err := s.mailbox(ctx, user, name, mailbox.RightRead)
	if err != nil {
		return nil, err
	}
	st, err := s.Store.MailboxStatus(ctx, ref.ID)
	if err != nil {
		return nil, err
	}
	subs, err := s.subscribed(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	i := info(st, ref.Name, subs[ref.Name])
	return &i, nil
}

// CreateMailbox creates a mailbox and its missing superiors, as IMAP
// CREATE does (RFC 9051 §6.3.4; mailbox.Service.Create). specialUse is
// an RFC 6154 attribute such as `\Archive`, or "".
func (s *Service) CreateMailbox(ctx context.Context, user, name, specialUse string) error {
	_, u, err := s.user(ctx, user)
	if err != nil {
		return err
	}
	name = strings.TrimSuffix(name, "/")
	_, err = s.mailboxes().Create(ctx, u, name, specialUse)
	if errors.Is(err, store.ErrMailboxExists) {
		n, _ := server.NormalizeMailboxName(name)
		return fmt.Errorf("mailbox %q already exists", n)
	}
	return cliError(err)
}

// DeleteMailbox deletes a mailbox and its messages (RFC 9051 §6.3.5;
// mailbox.Service.Delete); INBOX cannot be deleted.
func (s *Service) DeleteMailbox(ctx context.Context, user, name string) error {
	if _, _, err := s.mailbox(ctx, user, name, 0); err != nil {
		return err
	}
	_, u, err := s.user(ctx, user)
	if err != nil {
		return err
	}
	return cliError(s.mailboxes().Delete(ctx, u, name))
}

// RenameMailbox renames a mailbox and its inferiors (RFC 9051 §6.3.6;
// mailbox.Service.Rename); renaming INBOX moves its messages to a new
// mailbox. Subscriptions follow, as Dovecot's do.
func (s *Service) RenameMailbox(ctx context.Context, user, from, to string) error {
	if _, _, err := s.mailbox(ctx, user, from, 0); err != nil {
		return err
	}
	_, u, err := s.user(ctx, user)
	if err != nil {
		return err
	}
	_, err = s.mailboxes().Rename(ctx, u, from, strings.TrimSuffix(to, "/"))
	var me *mailbox.Error
	if errors.As(err, &me) && me.Kind == mailbox.KindExists {
		n, _ := server.NormalizeMailboxName(strings.TrimSuffix(to, "/"))
		return fmt.Errorf("mailbox %q already exists", n)
	}
	return cliError(err)
}

// Subscribe adds or removes a subscription (RFC 9051 §6.3.7, §6.3.8);
// the mailbox need not exist.
func (s *Service) Subscribe(ctx context.Context, user, name string, on bool) error {
	_, u, err := s.user(ctx, user)
	if err != nil {
		return err
	}
	return cliError(s.mailboxes().SetSubscribed(ctx, u, name, on))
}

// SetGroupMember adds (add) or removes account from a stored group
// ("$group" in ACLs); through the running server's mailbox service its
// sessions hear it at once, as after SETACL (docs/sharing.md "Live
// changes").
func (s *Service) SetGroupMember(ctx context.Context, group, account string, add bool) error {
	return cliError(s.mailboxes().SetGroupMember(ctx, group, account, add))
}

// Search returns the UIDs of the messages of user's mailbox that match
// query, IMAP SEARCH syntax with relative dates (ExpandDates).
func (s *Service) Search(ctx context.Context, user, box, query string) ([]store.UID, error) {
	_, mb, err := s.mailbox(ctx, user, box, mailbox.RightRead)
	if err != nil {
		return nil, err
	}
	return s.search(ctx, mb.ID, query)
}

func (s *Service) search(ctx context.Context, mailboxID int64, query string) ([]store.UID, error) {
	q, err := ExpandDates(query, s.now())
	if err != nil {
		return nil, err
	}
	key, err := server.ParseSearch(q)
	if err != nil {
		return nil, err
	}
	return server.SearchMailbox(ctx, s.Store, s.Blobs, mailboxID, key)
}

// Expunge removes the messages of user's mailbox that match query
// (whether or not they have \Deleted, like doveadm expunge) and returns
// their UIDs. On a mailbox shared with user it needs "r", "t" and "e"
// (RFC 4314 §4: reading, setting \Deleted, expunging).
func (s *Service) Expunge(ctx context.Context, user, box, query string) ([]store.UID, error) {
	_, mb, err := s.mailbox(ctx, user, box, mailbox.RightRead|mailbox.RightDeleteMsg|mailbox.RightExpunge)
	if err != nil {
		return nil, err
	}
	uids, err := s.search(ctx, mb.ID, query)
	if err != nil || len(uids) == 0 {
		return nil, err
	}
	gone, ch, err := s.Store.Expunge(ctx, mb.ID, uids)
	if err != nil {
		return nil, err
	}
	s.publish(ch)
	return gone, nil
}

// Open returns the raw bytes of one message.
func (s *Service) Open(ctx context.Context, user, box string, uid store.UID) (blob.Reader, error) {
	_, mb, err := s.mailbox(ctx, user, box, mailbox.RightRead)
	if err != nil {
		return nil, err
	}
	var id string
	err = s.Store.FetchMessages(ctx, mb.ID, []store.UID{uid}, store.FieldBasics, func(m *store.Message) error {
		id = m.BlobID
		return nil
	})
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, fmt.Errorf("%s has no message with UID %d", mb.Name, uid)
	}
	return s.Blobs.Open(ctx, id)
}
