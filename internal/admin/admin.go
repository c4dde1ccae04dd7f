package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"barid/internal/blob"
	"barid/internal/imap/server"
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

// mailbox resolves user's mailbox by its (normalized) name.
func (s *Service) mailbox(ctx context.Context, user, name string) (*store.Account, *store.Mailbox, error) {
	a, err := s.account(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	n, err := server.NormalizeMailboxName(name)
	if err != nil {
		return nil, nil, err
	}
	mb, err := s.Store.Mailbox(ctx, a.ID, n)
	if errors.Is(err, store.ErrNoMailbox) {
		return nil, nil, fmt.Errorf("%s has no mailbox %q", a.Name, n)
	}
	return a, mb, err
}

func info(st *store.Status, subscribed bool) MailboxInfo {
	mb := st.Mailbox
	return MailboxInfo{Name: mb.Name, SpecialUse: mb.SpecialUse, Subscribed: subscribed,
		Messages: st.Messages, Unseen: st.Unseen, Deleted: st.Deleted, Size: st.Size,
		UIDValidity: mb.UIDValidity, UIDNext: uint32(mb.UIDNext), HighestModSeq: uint64(mb.HighestModSeq)}
}

// ListMailboxes lists user's mailboxes with their counts, by name.
func (s *Service) ListMailboxes(ctx context.Context, user string) ([]MailboxInfo, error) {
	a, err := s.account(ctx, user)
	if err != nil {
		return nil, err
	}
	mbs, err := s.Store.Mailboxes(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	subs, err := s.subscribed(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	out := make([]MailboxInfo, 0, len(mbs))
	for _, mb := range mbs {
		st, err := s.Store.MailboxStatus(ctx, mb.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, info(st, subs[mb.Name]))
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

// Status is one mailbox's counts (IMAP STATUS, RFC 9051 §6.3.11).
func (s *Service) Status(ctx context.Context, user, name string) (*MailboxInfo, error) {
	a, mb, err := s.mailbox(ctx, user, name)
	if err != nil {
		return nil, err
	}
	st, err := s.Store.MailboxStatus(ctx, mb.ID)
	if err != nil {
		return nil, err
	}
	subs, err := s.subscribed(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	i := info(st, subs[mb.Name])
	return &i, nil
}

// CreateMailbox creates a mailbox and its missing superiors, as IMAP
// CREATE does (RFC 9051 §6.3.4). specialUse is an RFC 6154 attribute
// such as `\Archive`, or "".
func (s *Service) CreateMailbox(ctx context.Context, user, name, specialUse string) error {
	a, err := s.account(ctx, user)
	if err != nil {
		return err
	}
	n, err := server.NormalizeMailboxName(strings.TrimSuffix(name, "/"))
	if err != nil {
		return err
	}
	if n == "INBOX" {
		return fmt.Errorf("INBOX always exists")
	}
	_, err = s.createWithParents(ctx, a.ID, n, specialUse)
	if errors.Is(err, store.ErrMailboxExists) {
		return fmt.Errorf("mailbox %q already exists", n)
	}
	return err
}

func (s *Service) createWithParents(ctx context.Context, accountID int64, name, specialUse string) (*store.Mailbox, error) {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		parent := strings.Join(parts[:i], "/")
		if _, err := s.Store.Mailbox(ctx, accountID, parent); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNoMailbox) {
			return nil, err
		}
		_, ch, err := s.Store.CreateMailbox(ctx, accountID, parent, "")
		if err != nil && !errors.Is(err, store.ErrMailboxExists) {
			return nil, err
		}
		s.publish(ch)
	}
	mb, ch, err := s.Store.CreateMailbox(ctx, accountID, name, specialUse)
	if err != nil {
		return nil, err
	}
	s.publish(ch)
	return mb, nil
}

// DeleteMailbox deletes a mailbox and its messages (RFC 9051 §6.3.5);
// INBOX cannot be deleted, nor a mailbox with inferiors.
func (s *Service) DeleteMailbox(ctx context.Context, user, name string) error {
	a, mb, err := s.mailbox(ctx, user, name)
	if err != nil {
		return err
	}
	if mb.Name == "INBOX" {
		return fmt.Errorf("INBOX can't be deleted")
	}
	ch, err := s.Store.DeleteMailbox(ctx, a.ID, mb.Name)
	if errors.Is(err, store.ErrMailboxInferior) {
		return fmt.Errorf("mailbox %q has inferior mailboxes: delete them first", mb.Name)
	}
	if err != nil {
		return err
	}
	s.publish(ch)
	return nil
}

// RenameMailbox renames a mailbox and its inferiors (RFC 9051 §6.3.6);
// renaming INBOX moves its messages to a new mailbox. Subscriptions
// follow, as Dovecot's do.
func (s *Service) RenameMailbox(ctx context.Context, user, from, to string) error {
	a, src, err := s.mailbox(ctx, user, from)
	if err != nil {
		return err
	}
	to, err = server.NormalizeMailboxName(strings.TrimSuffix(to, "/"))
	if err != nil {
		return err
	}
	from = src.Name
	if to == "INBOX" {
		return fmt.Errorf("INBOX already exists")
	}
	if to == from || strings.HasPrefix(to, from+"/") {
		return fmt.Errorf("can't rename a mailbox to itself or under itself")
	}
	if _, err := s.Store.Mailbox(ctx, a.ID, to); err == nil {
		return fmt.Errorf("mailbox %q already exists", to)
	}
	if i := strings.LastIndexByte(to, '/'); i > 0 {
		if _, err := s.Store.Mailbox(ctx, a.ID, to[:i]); errors.Is(err, store.ErrNoMailbox) {
			if _, err := s.createWithParents(ctx, a.ID, to[:i], ""); err != nil {
				return err
			}
		}
	}
	if from == "INBOX" {
		dst, ch, err := s.Store.CreateMailbox(ctx, a.ID, to, "")
		if err != nil {
			return err
		}
		s.publish(ch)
		_, uids, err := s.Store.MessageUIDs(ctx, src.ID)
		if err != nil {
			return err
		}
		if len(uids) > 0 {
			_, ch, err := s.Store.MoveMessages(ctx, src.ID, uids, dst.ID)
			if err != nil {
				return err
			}
			s.publish(ch)
		}
		return nil
	}
	ch, err := s.Store.RenameMailbox(ctx, a.ID, from, to)
	if err != nil {
		return err
	}
	s.publish(ch)
	subs, err := s.Store.Subscriptions(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, n := range subs {
		if n != from && !strings.HasPrefix(n, from+"/") {
			continue
		}
		if ch, err := s.Store.SetSubscribed(ctx, a.ID, n, false); err == nil {
			s.publish(ch)
		}
		if ch, err := s.Store.SetSubscribed(ctx, a.ID, to+n[len(from):], true); err == nil {
			s.publish(ch)
		}
	}
	return nil
}

// Subscribe adds or removes a subscription (RFC 9051 §6.3.7, §6.3.8);
// the mailbox need not exist.
func (s *Service) Subscribe(ctx context.Context, user, name string, on bool) error {
	a, err := s.account(ctx, user)
	if err != nil {
		return err
	}
	n, err := server.NormalizeMailboxName(name)
	if err != nil {
		return err
	}
	ch, err := s.Store.SetSubscribed(ctx, a.ID, n, on)
	if err != nil {
		return err
	}
	s.publish(ch)
	return nil
}

// Search returns the UIDs of the messages of user's mailbox that match
// query, IMAP SEARCH syntax with relative dates (ExpandDates).
func (s *Service) Search(ctx context.Context, user, mailbox, query string) ([]store.UID, error) {
	_, mb, err := s.mailbox(ctx, user, mailbox)
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
// their UIDs.
func (s *Service) Expunge(ctx context.Context, user, mailbox, query string) ([]store.UID, error) {
	_, mb, err := s.mailbox(ctx, user, mailbox)
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
func (s *Service) Open(ctx context.Context, user, mailbox string, uid store.UID) (blob.Reader, error) {
	_, mb, err := s.mailbox(ctx, user, mailbox)
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
