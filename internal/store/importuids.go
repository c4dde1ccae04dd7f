package store

import "fmt"

// CheckImportUIDs checks the UIDs given to AppendMessagesAt: one per
// message, each a non-zero 32-bit number (RFC 9051 §2.3.1.1 nz-number),
// strictly ascending, the first at least uidNext (UIDs are never reused,
// so none may lie below the mailbox's UIDNEXT). Its errors wrap
// ErrCannot.
func CheckImportUIDs(uidNext UID, uids []UID, n int) error {
	if len(uids) != n {
		return fmt.Errorf("%w: %d UIDs for %d messages", ErrCannot, len(uids), n)
	}
	for i, u := range uids {
		switch {
		case u == 0:
			return fmt.Errorf("%w: UID 0 is not a UID", ErrCannot)
		case i == 0 && u < uidNext:
			return fmt.Errorf("%w: UID %d is below the mailbox's UIDNEXT %d", ErrCannot, u, uidNext)
		case i > 0 && u <= uids[i-1]:
			return fmt.Errorf("%w: UIDs not strictly ascending (%d after %d)", ErrCannot, u, uids[i-1])
		}
	}
	if n > 0 && uids[n-1] == 1<<32-1 {
		// UIDNEXT would be 2^32, past the UID space.
		return fmt.Errorf("%w: UID space of the mailbox exhausted (limit 2^32-1)", ErrCannot)
	}
	return nil
}
