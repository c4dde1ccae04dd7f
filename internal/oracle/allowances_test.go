package oracle

import "regexp"

// The named differences. Each is attached to the commands it is about
// in scenarios() and corpusScenario(); each id is a heading in
// DIFFERENCES.md, which says more.

var (
	// barid keeps the zone the client gave in APPEND; Dovecot's maildir
	// keeps a file time and answers in the server's zone. Compared as
	// instants in UTC.
	allowInternalDateZone = &allowance{
		id:       "internaldate-zone",
		why:      "INTERNALDATE is the same instant written in another zone (RFC 9051 §2.3.3)",
		rewrites: []rewrite{{on: bothSides, re: reInternalDate, fn: inUTC}},
	}

	// barid adds [NONEXISTENT] where Dovecot 2.3 sends a bare NO.
	allowNonexistentCode = &allowance{
		id:       "nonexistent-code",
		why:      "barid adds the optional response code [NONEXISTENT] (RFC 5530 §3)",
		rewrites: []rewrite{{on: baridSide, re: regexp.MustCompile(`^(\S+ NO) \[NONEXISTENT\]$`), to: "$1"}},
	}

	// barid adds [CANNOT] to the refusal to delete INBOX.
	allowCannotCode = &allowance{
		id:       "cannot-code",
		why:      "barid adds the optional response code [CANNOT] (RFC 5530 §3)",
		rewrites: []rewrite{{on: baridSide, re: regexp.MustCompile(`^(\S+ NO) \[CANNOT\]$`), to: "$1"}},
	}

	// RENAME onto an existing mailbox: Dovecot's auto-created Sent does
	// not exist on disk until first opened, so it reports the source.
	allowRenameAutoCreated = &allowance{
		id:       "rename-autocreated",
		why:      "Dovecot reports its not-yet-materialised auto-created source as missing; barid reports the existing target (RFC 9051 §6.3.6, RFC 5530 §3)",
		rewrites: []rewrite{{on: dovecotSide, re: regexp.MustCompile(`^(\S+ NO) \[NONEXISTENT\]$`), to: "$1 [ALREADYEXISTS]"}},
	}

	// Dovecot 2.3 is not IMAP4rev2 and has no STATUS DELETED: it is sent
	// the same command without DELETED, and DELETED is taken out of
	// barid's answer. SIZE (RFC 8438) both have and is compared.
	allowStatusDeleted = &allowance{
		id:         "status-deleted",
		why:        "Dovecot 2.3 has no STATUS DELETED (RFC 9051 §6.3.11)",
		dovecotCmd: `STATUS INBOX (SIZE UNSEEN MESSAGES)`,
		rewrites:   []rewrite{{on: baridSide, re: regexp.MustCompile(`^(\* STATUS .*) DELETED \d+(.*)$`), to: "$1$2"}},
	}

	// barid lists its charsets in BADCHARSET; Dovecot sends the bare code.
	allowBadcharsetList = &allowance{
		id:       "badcharset-list",
		why:      "barid adds the optional charset list to [BADCHARSET] (RFC 9051 §7.1)",
		rewrites: []rewrite{{on: baridSide, re: regexp.MustCompile(`\[BADCHARSET \([^)]*\)\]`), to: "[BADCHARSET]"}},
	}

	// CREATE a/b/c: barid creates the superiors a and a/b as mailboxes,
	// Dovecot's maildir++ layout shows them as \Noselect placeholders.
	// Three consequences, each rewritten only where it shows.
	//
	// In LIST, \Noselect on the lines for a and a/b (either server: after
	// DELETE a, a is \Noselect in barid and selectable in Dovecot).
	allowSuperiorsList = &allowance{
		id:  "superiors",
		why: "the superiors a and a/b are mailboxes in barid, placeholders in Dovecot (RFC 9051 §6.3.4, §6.3.5)",
		rewrites: []rewrite{{on: bothSides,
			re: regexp.MustCompile(`^(\* LIST \()\\Noselect (\\HasChildren\) "/" a(?:/b)?)$`), to: "$1$2"}},
	}
	// CREATE a: a already exists in barid.
	allowSuperiorsCreate = &allowance{
		id:       "superiors",
		why:      "CREATE a: a already exists in barid (RFC 9051 §6.3.4)",
		rewrites: []rewrite{{on: baridSide, re: regexp.MustCompile(`^(\S+) NO \[ALREADYEXISTS\]$`), to: "$1 OK"}},
	}
	// SUBSCRIBE a/b: Dovecot refuses to subscribe a name that is no
	// mailbox, as RFC 9051 §6.3.7 lets it; in barid a/b is one.
	allowSuperiorsSubscribe = &allowance{
		id:       "superiors",
		why:      "SUBSCRIBE a/b: a/b is no mailbox in Dovecot, which MAY then refuse (RFC 9051 §6.3.7)",
		rewrites: []rewrite{{on: dovecotSide, re: regexp.MustCompile(`^(\S+) NO$`), to: "$1 OK"}},
	}
)

// allowDuplicateHeaderSort is for one corpus message with two Subject:
// and two Date: fields, at sequence number seq: both servers' ENVELOPE
// shows the last of each, barid sorts by that and Dovecot by the first.
// The message is taken out of both SORT results; the order of all the
// others is still compared.
// allowBinarySizeArithmetic: BINARY.SIZE[1] of message seq, where
// Dovecot's own number is not the length of the BINARY[1] it sends (its
// .golden file in testdata/mime shows both).
func allowBinarySizeArithmetic(seq string) *allowance {
	return &allowance{
		id:       "binary-size-arithmetic",
		why:      "barid's BINARY.SIZE is the length of its BINARY (RFC 3516 §4.2); for this message Dovecot 2.3's is not the length of Dovecot's own BINARY",
		rewrites: []rewrite{{on: bothSides, re: regexp.MustCompile(`^(\* ` + seq + ` FETCH \((?:.* )?BINARY\.SIZE\[1\]) \d+`), to: "$1 N"}},
	}
}

func allowDuplicateHeaderSort(seq string) *allowance {
	return &allowance{
		id:       "sort-duplicate-fields",
		why:      "a message with two Subject: and two Date: fields sorts by the last in barid (as both ENVELOPEs show), by the first in Dovecot (RFC 5322 §3.6 allows one; RFC 5256 §3 does not say)",
		rewrites: []rewrite{{on: bothSides, re: regexp.MustCompile(`^(\* SORT(?: \d+)*) ` + seq + `\b`), to: "$1"}},
	}
}
