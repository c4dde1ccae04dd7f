package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; PRAGMA user_version records how many
// have run. Never edit an applied migration: append a new one.
//
// Layout after all migrations (measured, see docs/sqlite-driver.md):
//   - messages is a rowid table with PRIMARY KEY (mailbox, uid) holding
//     what never changes after delivery: blob id, size, dates, header,
//     structure, envelope, search fields. The rows are kilobytes; as a
//     WITHOUT ROWID table the same data took 3x the space.
//   - msgflags (mailbox, uid, modseq, sysflags, keywords, size) is a
//     narrow WITHOUT ROWID table: FLAGS fetches, UID lists, \Deleted
//     scans, recent counts, expunge bookkeeping and every flag change
//     touch only it, a hundred rows to a page.
//   - mailboxes keeps the STATUS counters (messages, unseen, deleted, size),
//     updated in the same transaction as every message change, so STATUS on
//     a mailbox of a million messages is one row read.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE,
	secret  BLOB,
	quota   INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL
);

CREATE TABLE mailboxes (
	id            INTEGER PRIMARY KEY,
	account       INTEGER NOT NULL,
	name          TEXT NOT NULL,
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL,
	highestmodseq INTEGER NOT NULL,
	firstrecent   INTEGER NOT NULL,
	special_use   TEXT NOT NULL DEFAULT '',
	messages      INTEGER NOT NULL DEFAULT 0,
	unseen        INTEGER NOT NULL DEFAULT 0,
	deleted       INTEGER NOT NULL DEFAULT 0,
	size          INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account, name)
);

CREATE TABLE subscriptions (
	account INTEGER NOT NULL,
	name    TEXT NOT NULL,
	PRIMARY KEY (account, name)
) WITHOUT ROWID;

CREATE TABLE messages (
	mailbox      INTEGER NOT NULL,
	uid          INTEGER NOT NULL,
	modseq       INTEGER NOT NULL,
	sysflags     INTEGER NOT NULL,
	keywords     TEXT NOT NULL DEFAULT '',
	blob_id      TEXT NOT NULL,
	size         INTEGER NOT NULL,
	internaldate INTEGER,
	savedate     INTEGER,
	header       BLOB,
	structure    BLOB,
	envelope     BLOB,
	subject      TEXT NOT NULL DEFAULT '',
	from_addr    TEXT NOT NULL DEFAULT '',
	to_addr      TEXT NOT NULL DEFAULT '',
	cc_addr      TEXT NOT NULL DEFAULT '',
	bcc_addr     TEXT NOT NULL DEFAULT '',
	sentdate     INTEGER,
	PRIMARY KEY (mailbox, uid)
);

CREATE INDEX messages_flags ON messages (mailbox, uid, modseq, sysflags, keywords, size);
CREATE INDEX messages_blob ON messages (blob_id);

CREATE TABLE expunged (
	mailbox INTEGER NOT NULL,
	uid     INTEGER NOT NULL,
	modseq  INTEGER NOT NULL,
	PRIMARY KEY (mailbox, uid)
) WITHOUT ROWID;
`,
	// 2: per-mailbox keyword spellings (RFC 9051 §2.3.2: keywords are
	// case-insensitive; the first spelling seen is kept), backfilled from
	// the messages' keyword lists.
	`
CREATE TABLE keywords (
	mailbox INTEGER NOT NULL,
	lname   TEXT NOT NULL,
	name    TEXT NOT NULL,
	PRIMARY KEY (mailbox, lname)
) WITHOUT ROWID;

WITH RECURSIVE split (mailbox, word, rest) AS (
	SELECT mailbox, '', keywords || ' ' FROM messages WHERE keywords != ''
	UNION ALL
	SELECT mailbox, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
	FROM split WHERE rest != ''
)
INSERT OR IGNORE INTO keywords (mailbox, lname, name)
	SELECT mailbox, lower(word), word FROM split WHERE word != '';
`,
	// 3: the mutable per-message state moves to a narrow WITHOUT ROWID
	// table. A flag change used to rewrite the wide row (header, structure
	// and envelope blobs) plus a covering index entry: STORE 1:* on 100k
	// messages wrote 133 MB of WAL; on msgflags it writes 2 MB and runs
	// 4x faster (docs/sqlite-driver.md).
	`
CREATE TABLE msgflags (
	mailbox  INTEGER NOT NULL,
	uid      INTEGER NOT NULL,
	modseq   INTEGER NOT NULL,
	sysflags INTEGER NOT NULL,
	keywords TEXT NOT NULL DEFAULT '',
	size     INTEGER NOT NULL,
	PRIMARY KEY (mailbox, uid)
) WITHOUT ROWID;

INSERT INTO msgflags (mailbox, uid, modseq, sysflags, keywords, size)
	SELECT mailbox, uid, modseq, sysflags, keywords, size FROM messages;

DROP INDEX messages_flags;
ALTER TABLE messages DROP COLUMN modseq;
ALTER TABLE messages DROP COLUMN sysflags;
ALTER TABLE messages DROP COLUMN keywords;
`,
	// 4: a covering index for SEARCH on stored fields (SearchCriteria):
	// scanning it reads the short search columns instead of the wide rows
	// with their header, structure and envelope blobs.
	`
CREATE INDEX messages_search ON messages (mailbox, uid, subject, from_addr, to_addr, cc_addr, bcc_addr, sentdate, internaldate, savedate);
`,
	// 5: the bytes of small messages (up to [storage] inline_max_bytes),
	// content-addressed by the same SHA-256 hex id as blob/fs and written
	// in the transaction that adds their message row: one WAL fsync per
	// delivery instead of three (blob file, shard folder, WAL). A rowid
	// table: inserting 10 KB rows cost 50 µs of CPU against 80 µs WITHOUT
	// ROWID (60 KB: 139 vs 301 µs), at the same file size (inline.go).
	`
CREATE TABLE blobdata (
	id   TEXT PRIMARY KEY,
	data BLOB NOT NULL
);
`,
	// 6: SORT by DATE and ARRIVAL (RFC 5256) walks an index in order
	// instead of sorting the mailbox: expression indexes on the sort keys
	// SortUIDs uses, with uid as the tie-break. On 100,000 messages
	// SORT (REVERSE DATE) went from sorting 100k rows per command to an
	// index walk.
	`
CREATE INDEX messages_sort_date ON messages (mailbox, (coalesce(sentdate, internaldate) >> 16), uid);
CREATE INDEX messages_sort_arrival ON messages (mailbox, (internaldate >> 16), uid);
`,
	// 7: URLAUTH mailbox access keys (RFC 4467 §7, store.URLAuthKeys),
	// one per mailbox. A trigger removes a mailbox's key with the
	// mailbox (DELETE, and DeleteAccount), so a mailbox created later
	// under the same name, which may even reuse the row id, never
	// honours URLs signed for the old one.
	`
CREATE TABLE urlauth_keys (
	mailbox INTEGER PRIMARY KEY,
	key     BLOB NOT NULL
);

CREATE TRIGGER urlauth_keys_gc AFTER DELETE ON mailboxes BEGIN
	DELETE FROM urlauth_keys WHERE mailbox = old.id;
END;
`,
	// 8: RFC 8474 EMAILID and RFC 8970 PREVIEW. emailid is random per
	// delivered message and copied with it (COPY, MOVE), so existing
	// messages get a random one here (copies made before this step do
	// not share theirs). preview is NULL until computed: at delivery from
	// now on, on first FETCH PREVIEW for older messages (SetPreview).
	// MAILBOXID needs no column: it is derived from UIDVALIDITY
	// (store.Mailbox.ObjectID).
	`
ALTER TABLE messages ADD COLUMN emailid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN preview TEXT;
UPDATE messages SET emailid = (random() & 0x7fffffffffffffff) | 1;
CREATE INDEX messages_emailid ON messages (emailid);
`,
	// 9: the search fields (subject, addresses, sent date) are
	// re-derived from the stored header: they are folded with
	// i;unicode-casemap instead of strings.ToLower, addresses are written
	// as Dovecot searches them, and more obsolete dates parse
	// (rederiveSearchFields, a Go step in batches).
	``,
	// 10: a tombstone keeps the flags its message had when it was
	// expunged (store.ExpungedFlags): a session not yet told of the
	// expunge still answers STORE and FETCH FLAGS on it with them, as
	// Dovecot does (RFC 2180 §4.2). Older tombstones have no flags.
	`
ALTER TABLE expunged ADD COLUMN sysflags INTEGER NOT NULL DEFAULT 0;
ALTER TABLE expunged ADD COLUMN keywords TEXT NOT NULL DEFAULT '';
`,
	// 11: QUOTA (RFC 9208, quota.go). quotas keeps each account's usage
	// (bytes, messages) and its per-account limits (-1: the [quota]
	// default, 0: unlimited). Triggers keep the usage in step with the
	// mailbox counters, which every write already updates in its own
	// transaction: one row update per statement that changes a
	// mailbox's message count or size, never a scan. Existing accounts
	// get their usage computed here; a storage quota set before (the
	// accounts.quota column) becomes the override.
	`
CREATE TABLE quotas (
	account        INTEGER PRIMARY KEY,
	storage        INTEGER NOT NULL DEFAULT 0,
	messages       INTEGER NOT NULL DEFAULT 0,
	limit_storage  INTEGER NOT NULL DEFAULT -1,
	limit_messages INTEGER NOT NULL DEFAULT -1
);
INSERT INTO quotas (account, storage, messages, limit_storage)
	SELECT a.id,
		coalesce((SELECT sum(size) FROM mailboxes WHERE account = a.id), 0),
		coalesce((SELECT sum(messages) FROM mailboxes WHERE account = a.id), 0),
		CASE WHEN a.quota > 0 THEN a.quota ELSE -1 END
	FROM accounts a;

CREATE TRIGGER quotas_account_add AFTER INSERT ON accounts BEGIN
	INSERT OR REPLACE INTO quotas (account, limit_storage) VALUES (new.id, CASE WHEN new.quota > 0 THEN new.quota ELSE -1 END);
END;
CREATE TRIGGER quotas_account_del AFTER DELETE ON accounts BEGIN
	DELETE FROM quotas WHERE account = old.id;
END;
CREATE TRIGGER quotas_charge AFTER UPDATE OF messages, size ON mailboxes
	WHEN new.messages != old.messages OR new.size != old.size BEGIN
	UPDATE quotas SET storage = storage + new.size - old.size, messages = messages + new.messages - old.messages
		WHERE account = new.account;
END;
CREATE TRIGGER quotas_release AFTER DELETE ON mailboxes BEGIN
	UPDATE quotas SET storage = storage - old.size, messages = messages - old.messages WHERE account = old.account;
END;
`,
	// 12: IMAP METADATA entries (RFC 5464, metadata.go). mailbox 0 is a
	// server entry; account 0 a mailbox's /shared entry. Names are
	// lower-cased (entry names are case-insensitive; Dovecot folds them
	// too). Triggers remove the entries of a deleted mailbox or account;
	// RENAME keeps the mailbox row, and so its entries.
	`
CREATE TABLE metadata (
	mailbox INTEGER NOT NULL,
	account INTEGER NOT NULL,
	name    TEXT NOT NULL,
	value   BLOB NOT NULL,
	PRIMARY KEY (mailbox, account, name)
) WITHOUT ROWID;
CREATE INDEX metadata_account ON metadata (account);

CREATE TRIGGER metadata_mailbox_gc AFTER DELETE ON mailboxes BEGIN
	DELETE FROM metadata WHERE mailbox = old.id;
END;
CREATE TRIGGER metadata_account_gc AFTER DELETE ON accounts BEGIN
	DELETE FROM metadata WHERE account = old.id;
END;
`,
	// 13: the alias table (store.Aliases): address (normalized, or
	// "@domain" for a catch-all) to account. DeleteAccount removes an
	// account's aliases.
	`
CREATE TABLE aliases (
	address TEXT PRIMARY KEY,
	account INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX aliases_account ON aliases (account);
`,
	// 14: app passwords (store.AppPasswords), found by the SHA-256 of
	// the password; protocols is a comma-separated list ("" = all).
	// DeleteAccount removes an account's.
	`
CREATE TABLE app_passwords (
	hash      BLOB PRIMARY KEY,
	account   INTEGER NOT NULL,
	label     TEXT NOT NULL,
	protocols TEXT NOT NULL,
	created   INTEGER NOT NULL,
	UNIQUE (account, label)
) WITHOUT ROWID;
`,
	// 15: Sieve (store.SieveScripts): per-account scripts, at most one
	// active (a partial unique index); the vacation memory (RFC 5230
	// §4.2), keyed by handle and sender, with an expiry; and the spool
	// of Sieve-generated mail (redirect, vacation, reject) waiting for
	// the smarthost, which survives restarts. Scripts and vacation rows
	// go with their account (trigger); spooled mail does not.
	`
CREATE TABLE sieve_scripts (
	account INTEGER NOT NULL,
	name    TEXT NOT NULL,
	script  BLOB NOT NULL,
	active  INTEGER NOT NULL DEFAULT 0,
	updated INTEGER NOT NULL,
	PRIMARY KEY (account, name)
);
CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts (account) WHERE active = 1;

CREATE TABLE sieve_vacation (
	account INTEGER NOT NULL,
	key     TEXT NOT NULL,
	expires INTEGER NOT NULL,
	PRIMARY KEY (account, key)
);

CREATE TABLE sieve_outgoing (
	id        INTEGER PRIMARY KEY,
	account   INTEGER NOT NULL,
	kind      TEXT NOT NULL,
	sender    TEXT NOT NULL,
	rcpts     TEXT NOT NULL,
	data      BLOB NOT NULL,
	attempts  INTEGER NOT NULL DEFAULT 0,
	next_try  INTEGER NOT NULL,
	created   INTEGER NOT NULL,
	last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sieve_outgoing_due ON sieve_outgoing (next_try, id);

CREATE TRIGGER sieve_account_gc AFTER DELETE ON accounts BEGIN
	DELETE FROM sieve_scripts WHERE account = old.id;
	DELETE FROM sieve_vacation WHERE account = old.id;
END;
`,
	// 16: mailbox ACLs (RFC 4314, store.ACLStore) and the groups of
	// `barid group`. A trigger drops a mailbox's ACL with the mailbox
	// (DELETE, DeleteAccount), so a mailbox created later under the same
	// name starts with none; RENAME keeps the id and so the ACL.
	`
CREATE TABLE acl (
	mailbox    INTEGER NOT NULL,
	identifier TEXT NOT NULL,
	rights     TEXT NOT NULL,
	PRIMARY KEY (mailbox, identifier)
) WITHOUT ROWID;
CREATE INDEX acl_identifier ON acl (identifier, mailbox);

CREATE TRIGGER acl_gc AFTER DELETE ON mailboxes BEGIN
	DELETE FROM acl WHERE mailbox = old.id;
END;

CREATE TABLE groups (
	grp     TEXT NOT NULL,
	account TEXT NOT NULL,
	PRIMARY KEY (grp, account)
) WITHOUT ROWID;
`,
	// 17: the full-text index of SEARCH BODY/TEXT (store.TextIndexer,
	// docs/search.md): one FTS5 document per message content (blob id),
	// shared by its copies. The trigram tokenizer over i;unicode-casemap
	// folded text gives substring candidates for needles of 3 or more
	// characters; detail=none and no stored content keep it at about 6%
	// of the mail's size (the verify step needs no positions). Triggers
	// keep the bookkeeping in the transaction of every insert and delete:
	// a new content is pending until internal/fts indexes it (pending
	// messages are always candidates), a content whose last message is
	// deleted becomes an orphan that PurgeTextIndex removes (a MOVE
	// deletes and re-inserts in one transaction, which adopts it back).
	// Every existing content starts pending and is indexed in the
	// background after the upgrade.
	`
CREATE TABLE fts_docs (
	id      INTEGER PRIMARY KEY,
	blob_id TEXT NOT NULL UNIQUE
);
CREATE TABLE fts_pending (blob_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE fts_orphans (blob_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE fts_text USING fts5(body, content='', contentless_delete=1, detail=none,
	tokenize='trigram case_sensitive 1');

CREATE TRIGGER fts_msg_insert AFTER INSERT ON messages BEGIN
	INSERT OR IGNORE INTO fts_pending (blob_id)
		SELECT new.blob_id WHERE NOT EXISTS (SELECT 1 FROM fts_docs WHERE blob_id = new.blob_id);
	DELETE FROM fts_orphans WHERE blob_id = new.blob_id;
END;
CREATE TRIGGER fts_msg_delete AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = old.blob_id) BEGIN
	DELETE FROM fts_pending WHERE blob_id = old.blob_id;
	INSERT OR IGNORE INTO fts_orphans (blob_id)
		SELECT old.blob_id WHERE EXISTS (SELECT 1 FROM fts_docs WHERE blob_id = old.blob_id);
END;

INSERT OR IGNORE INTO fts_pending (blob_id) SELECT blob_id FROM messages;
`,
	// 18: private \Seen on shared mailboxes (store.PrivateSeenStore,
	// docs/sharing.md): one row per (mailbox, message, user) that user
	// changed. Triggers drop rows with the mailbox and with the user's
	// account; rows of expunged messages are removed lazily by
	// SetPrivateSeen, so that expunging costs nothing more.
	`
CREATE TABLE privseen (
	mailbox INTEGER NOT NULL,
	account INTEGER NOT NULL,
	uid     INTEGER NOT NULL,
	seen    INTEGER NOT NULL,
	modseq  INTEGER NOT NULL,
	PRIMARY KEY (mailbox, account, uid)
) WITHOUT ROWID;
CREATE INDEX privseen_account ON privseen (account);

CREATE TRIGGER privseen_mailbox_gc AFTER DELETE ON mailboxes BEGIN
	DELETE FROM privseen WHERE mailbox = old.id;
END;
CREATE TRIGGER privseen_account_gc AFTER DELETE ON accounts BEGIN
	DELETE FROM privseen WHERE account = old.id;
END;
`,
	// 19: leases on the Sieve outgoing spool
	// (store.SieveScripts ClaimOutgoing; one process uses a SQLite
	// file, but the semantics are those of PostgreSQL's).
	`
ALTER TABLE sieve_outgoing ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE sieve_outgoing ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
`,
	// 20: the SHA-256 of each Sieve script (store.ScriptDigest), so a
	// delivery checks its cached compilation without reading the
	// script (store.SieveScripts ActiveSieveScriptDigest). Scripts
	// stored before keep an empty digest until their next PUTSCRIPT:
	// a delivery then reads the script itself.
	`
ALTER TABLE sieve_scripts ADD COLUMN digest BLOB NOT NULL DEFAULT x'';
`,
	// 21: RFC 8474 THREADID (store/thread.go). messages.threadid is
	// given at delivery and never changed; thread_msgids is each
	// account's thread index, keyed by store.ThreadKey of a Message-ID
	// (owned = a message with that Message-ID was stored). The primary
	// key is the lookup a delivery makes, so it stays one index probe
	// per id whatever the mailbox sizes. Existing messages are threaded
	// by backfillThreads when the store opens (the meta key marks the
	// work, which resumes after an interruption); until then their
	// THREADID is NIL.
	`
ALTER TABLE messages ADD COLUMN threadid INTEGER NOT NULL DEFAULT 0;
CREATE TABLE thread_msgids (
	account INTEGER NOT NULL,
	msgid   INTEGER NOT NULL,
	thread  INTEGER NOT NULL,
	owned   INTEGER NOT NULL,
	PRIMARY KEY (account, msgid)
) WITHOUT ROWID;
CREATE TRIGGER thread_msgids_account_gc AFTER DELETE ON accounts BEGIN
	DELETE FROM thread_msgids WHERE account = old.id;
END;
INSERT INTO meta (key, value) SELECT 'threads_backfill_rowid', 0 WHERE EXISTS (SELECT 1 FROM messages);
`,
	// 22: the full-text trigger on new messages checks fts_pending
	// itself instead of relying on OR IGNORE: the INSERT OR FAIL of
	// insertMessage (messages.go) overrides the conflict clause of the
	// statements of the triggers it fires, and a message whose bytes are
	// already pending (a copy) must not fail.
	`
DROP TRIGGER fts_msg_insert;
CREATE TRIGGER fts_msg_insert AFTER INSERT ON messages BEGIN
	INSERT OR IGNORE INTO fts_pending (blob_id)
		SELECT new.blob_id WHERE NOT EXISTS (SELECT 1 FROM fts_docs WHERE blob_id = new.blob_id)
			AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE blob_id = new.blob_id);
	DELETE FROM fts_orphans WHERE blob_id = new.blob_id;
END;
`,
	// 23: word tables beside the trigram index (docs/search.md, "Sure
	// answers"): fts_wbody holds the words of what SEARCH BODY compares,
	// fts_whead those of what TEXT adds (msgdata.TextSplit), with the
	// ascii tokenizer (runs of ASCII letters and digits and non-ASCII
	// bytes; the text is already folded). A needle that is one such run
	// and begins a word of a document occurs in it, so the message
	// matches without being read. Every content is indexed again.
	// messages_blob also carries the mailbox and UID, so turning the
	// contents the index found into a mailbox's UIDs reads no message
	// row (a third less CPU for 17,690 hits on 100,000 messages).
	`
DROP INDEX messages_blob;
CREATE INDEX messages_blob ON messages (blob_id, mailbox, uid);
DROP TABLE fts_text;
CREATE VIRTUAL TABLE fts_text USING fts5(body, content='', contentless_delete=1, detail=none,
	tokenize='trigram case_sensitive 1');
CREATE VIRTUAL TABLE fts_wbody USING fts5(body, content='', contentless_delete=1, detail=none, tokenize='ascii');
CREATE VIRTUAL TABLE fts_whead USING fts5(body, content='', contentless_delete=1, detail=none, tokenize='ascii');
DELETE FROM fts_docs;
DELETE FROM fts_orphans;
INSERT OR IGNORE INTO fts_pending (blob_id) SELECT blob_id FROM messages;
`,
	// 24: the groups of one account (store.ACLStore AccountGroups and
	// SharedWith, read by every LIST with ACLs on) without scanning
	// every membership.
	`
CREATE INDEX groups_account ON groups (account, grp);
`,
	// 25: the vocabulary of the word tables (docs/search.md, "Needles
	// inside words"): every word of fts_wbody and fts_whead up to
	// trigram.MaxTerm bytes once, with a trigram index over the words,
	// so that a needle inside a word becomes the words that hold it;
	// fts_longword lists the contents with a longer word (never ruled
	// out by the vocabulary). fts_vocab_todo says where the catch-up of
	// contents indexed before this step stands (CatchUpVocab reads
	// their words back from the word tables through fts5vocab); while
	// it has rows, lookups do not use the vocabulary.
	`
CREATE TABLE fts_vocab (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE fts_vocab_tri USING fts5(term, content='', detail=none,
	tokenize='trigram case_sensitive 1');
CREATE TABLE fts_longword (id INTEGER PRIMARY KEY);
CREATE TABLE fts_vocab_todo (tbl TEXT PRIMARY KEY, after TEXT NOT NULL) WITHOUT ROWID;
CREATE VIRTUAL TABLE fts_wbody_terms USING fts5vocab(fts_wbody, row);
CREATE VIRTUAL TABLE fts_whead_terms USING fts5vocab(fts_whead, row);
CREATE VIRTUAL TABLE fts_wbody_where USING fts5vocab(fts_wbody, instance);
CREATE VIRTUAL TABLE fts_whead_where USING fts5vocab(fts_whead, instance);
INSERT INTO fts_vocab_todo (tbl, after) SELECT 'fts_wbody', '' WHERE EXISTS (SELECT 1 FROM fts_docs);
INSERT INTO fts_vocab_todo (tbl, after) SELECT 'fts_whead', '' WHERE EXISTS (SELECT 1 FROM fts_docs);
`,
	// 26: fts_where maps an indexed content (fts_docs.id, the FTS5
	// rowid) to the messages that hold it, so that the contents a lookup
	// finds become a mailbox's UIDs by one lookup of small integer keys,
	// in the order FTS5 returns them, instead of fts_docs (by id) and
	// then messages_blob (by the 64-character blob id) at random: 6 µs a
	// hit at 1,000,000 messages. The triggers keep it in step with
	// messages; IndexText adds the rows of a new entry; contents indexed
	// before are added by the catch-up (fts_vocab_todo 'fts_where', the
	// last fts_docs.id done), and until it ends lookups do not use it.
	// The insert trigger guards against an existing row itself: the
	// INSERT OR FAIL of insertMessage would override an OR IGNORE.
	`
CREATE TABLE fts_where (
	doc     INTEGER NOT NULL,
	mailbox INTEGER NOT NULL,
	uid     INTEGER NOT NULL,
	PRIMARY KEY (doc, mailbox, uid)
) WITHOUT ROWID;
CREATE TRIGGER fts_where_insert AFTER INSERT ON messages BEGIN
	INSERT INTO fts_where (doc, mailbox, uid) SELECT d.id, new.mailbox, new.uid FROM fts_docs d
		WHERE d.blob_id = new.blob_id
		AND NOT EXISTS (SELECT 1 FROM fts_where w WHERE w.doc = d.id AND w.mailbox = new.mailbox AND w.uid = new.uid);
END;
CREATE TRIGGER fts_where_delete AFTER DELETE ON messages BEGIN
	DELETE FROM fts_where WHERE doc = (SELECT id FROM fts_docs WHERE blob_id = old.blob_id)
		AND mailbox = old.mailbox AND uid = old.uid;
END;
INSERT INTO fts_vocab_todo (tbl, after) SELECT 'fts_where', '0' WHERE EXISTS (SELECT 1 FROM fts_docs);
`,
	// 27: claims on the full-text pending list (store.TextIndexer
	// ClaimTextPending), as store/postgres's step for the same: the
	// owner (one indexer: the server, or barid index in another
	// process) and until when, in unix milliseconds; 0 and '' when
	// unclaimed.
	`
ALTER TABLE fts_pending ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE fts_pending ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
`,
	// 28: msgrec, the ENVELOPE and MIME structure of each message in a
	// narrow table keyed by mailbox << 32 | uid (msgrec.go), so that
	// FETCH 1:* ENVELOPE or BODYSTRUCTURE of a mailbox too big for the
	// record cache scans a few rows per page in key order instead of a
	// wide messages row (and a rowid seek) per message. Triggers keep it
	// in step with messages in the same transaction; the messages stored
	// before this step are copied by backfillRecs in the background
	// (the meta key marks the work and resumes it). Mailbox ids from
	// 2^31 on (never seen: ids count from 1) are left out and read the
	// slow way.
	`
CREATE TABLE msgrec (
	id        INTEGER PRIMARY KEY,
	envelope  BLOB,
	structure BLOB
);
CREATE TRIGGER msgrec_insert AFTER INSERT ON messages WHEN new.mailbox < 2147483648 BEGIN
	DELETE FROM msgrec WHERE id = (new.mailbox << 32) | new.uid;
	INSERT INTO msgrec (id, envelope, structure) VALUES ((new.mailbox << 32) | new.uid, new.envelope, new.structure);
END;
CREATE TRIGGER msgrec_delete AFTER DELETE ON messages WHEN old.mailbox < 2147483648 BEGIN
	DELETE FROM msgrec WHERE id = (old.mailbox << 32) | old.uid;
END;
CREATE TRIGGER msgrec_update AFTER UPDATE OF mailbox, uid, envelope, structure ON messages BEGIN
	DELETE FROM msgrec WHERE id = (old.mailbox << 32) | old.uid AND old.mailbox < 2147483648;
	INSERT INTO msgrec (id, envelope, structure) SELECT (new.mailbox << 32) | new.uid, new.envelope, new.structure
		WHERE new.mailbox < 2147483648;
END;
INSERT INTO meta (key, value) SELECT 'msgrec_backfill_rowid', 0 WHERE EXISTS (SELECT 1 FROM messages);
`,
	// 29: the check every delivery makes (ActiveSieveScriptDigest: the
	// active script's name and digest) answered from an index. digest
	// is the last column of the row, after the script itself: a script
	// over about 4 KB (the 50-rule benchmark script is 4.4 KB) spills
	// into overflow pages, and reading digest walked them on every
	// delivery. sieve_scripts_active still enforces one active script
	// per account; this one only covers the lookup (active is in it so
	// that the planner needs no row: TestActiveDigestPlan).
	`
CREATE INDEX sieve_scripts_active_digest ON sieve_scripts (account, active, name, digest) WHERE active = 1;
`,
	// 30: messages_emailid goes. Its key is random (an EMAILID is a
	// random number, step 8), so every delivery and every expunge
	// dirtied a leaf page of it in the WAL (one of the 22 a 10 KB
	// delivery writes: TestWALPagesPerOp, docs/benchmarks.md "Session
	// 13"), and every copy one more; no query of a running server reads
	// it: FETCH EMAILID reads the message row, and SEARCH EMAILID (RFC
	// 8474) is matched against the rows of the one mailbox searched
	// (internal/search), never looked up across the account. The one
	// reader, backfillThreads, builds a temporary index of its own while
	// it has work.
	`
DROP INDEX messages_emailid;
`,
}

// goMigrations are steps written in Go, run after the SQL of the same
// number. Each manages its own transactions (so a large store is rewritten
// in bounded batches) and must be safe to run again from the start.
var goMigrations = map[int]func(context.Context, *sql.Conn) error{
	9: rederiveSearchFields,
}

// migrate brings the schema up to date inside one transaction per step.
func migrate(ctx context.Context, conn *sql.Conn) error {
	var version int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read user_version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if fn := goMigrations[i+1]; fn != nil {
			if err := fn(ctx, conn); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, migrations[i]+";"); err != nil {
			conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck // original error wins
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			conn.ExecContext(ctx, "ROLLBACK") //nolint:errcheck
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return nil
}
