package store

import "strings"

// MetadataOwner is the account column of an entry's row: the account
// for server entries and a mailbox's /private entries, 0 for a
// mailbox's /shared entries.
func MetadataOwner(accountID, mailboxID int64, name string) int64 {
	if mailboxID != 0 && !strings.HasPrefix(strings.ToLower(name), "/private") {
		return 0
	}
	return accountID
}
