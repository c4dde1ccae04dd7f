// Package mailbox is the mailbox service: the one place that knows the
// rules about mailboxes, shared by IMAP, POP3, LMTP, deliver and the CLI.
//
//   - Names (RFC 9051 §5.1): validation and normalisation (INBOX is
//     case-insensitive, "/" is the separator, no empty, "." or ".."
//     levels, no control characters or wildcards, named limits on
//     length and depth).
//   - Namespaces (RFC 2342): the personal namespace "", other users'
//     mailboxes under "Other Users/<owner>/" and public mailboxes under
//     "Shared/" (both prefixes configurable), owned by a server account.
//     Resolve turns a name as a user sees it into the owner's mailbox.
//   - Rights (RFC 4314): the owner has every right implicitly; anyone
//     else gets the union of the rights of the entries that name them
//     (their name, "anyone", "authenticated", "$group"), less the union
//     of the matching negative ("-") entries. A mailbox the user may not
//     look up ("l") is reported exactly like a mailbox that does not
//     exist, so no name leaks.
//   - Hierarchy rules: CREATE with missing parents, RENAME (INBOX
//     too: its messages move and INBOX stays), subscriptions carried
//     across a rename, DELETE of INBOX refused.
//
// Every write publishes its changes on the change bus, stamped with the
// origin notify.WithOrigin put in the context.
package mailbox
