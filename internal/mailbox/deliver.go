package mailbox

import (
	"context"
	"errors"
	"strings"

	"barid/internal/store"
)

// DeliveryTarget picks the mailbox a delivery to account goes to (LMTP,
// `barid deliver`): want if it names a mailbox the recipient may post
// to (RFC 4314 §2.1 "p"; the owner has every right, so any of their own
// mailboxes, and a folder another user shares with them only with "p"),
// exactly or else case-insensitively among their own; otherwise INBOX.
// Like Dovecot's LDA -m and lmtp_save_to_detail_mailbox, a missing or
// forbidden mailbox falls back to INBOX rather than failing, and says
// nothing about why. INBOX is created if the account lacks it; the
// creation's changes are returned for the caller to publish.
func (s *Service) DeliveryTarget(ctx context.Context, acct *store.Account, want string) (*store.Mailbox, []store.Change, error) {
	u := User{ID: acct.ID, Name: acct.Name}
	if want != "" && !strings.EqualFold(want, "INBOX") {
		ref, err := s.Resolve(ctx, u, want, RightPost)
		if err == nil {
			mb := ref.Mailbox
			mb.Name = ref.Local
			return &mb, nil, nil
		}
		var me *Error
		if !errors.Is(err, store.ErrNoMailbox) && !errors.As(err, &me) {
			return nil, nil, err
		}
		if errors.Is(err, store.ErrNoMailbox) {
			all, err := s.st.Mailboxes(ctx, acct.ID)
			if err != nil {
				return nil, nil, err
			}
			for i := range all {
				if strings.EqualFold(all[i].Name, want) {
					return &all[i], nil, nil
				}
			}
		}
	}
	mb, err := s.st.Mailbox(ctx, acct.ID, "INBOX")
	if !errors.Is(err, store.ErrNoMailbox) {
		return mb, nil, err
	}
	// RFC 9051 §5.1: INBOX always exists for a user.
	mb, changes, err := s.st.CreateMailbox(ctx, acct.ID, "INBOX", "")
	if errors.Is(err, store.ErrMailboxExists) {
		mb, err = s.st.Mailbox(ctx, acct.ID, "INBOX")
		return mb, nil, err
	}
	return mb, changes, err
}

// Inbox is the user's own INBOX, for POP3 (RFC 1939 works on it alone).
func (s *Service) Inbox(ctx context.Context, accountID int64) (*store.Mailbox, error) {
	return s.st.Mailbox(ctx, accountID, "INBOX")
}
