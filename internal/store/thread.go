package store

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// Threads (RFC 8474 §5.2 THREADID).
//
// A message's thread is decided once, in the transaction that stores it,
// from its Message-ID and the ids its In-Reply-To and References fields
// name (RFC 5322 §3.6.4; NewMessage.MessageID and .References, from
// header.ThreadFields), per user: the mailbox owner's account, across
// all of that account's mailboxes, so a reply filed in Sent and its
// answer in INBOX share one id. Each backend keeps a thread index per
// account: the key of a Message-ID (ThreadKey) to a thread id, marked
// owned when a message with that Message-ID was stored and not owned
// when it was only referred to. A new message:
//
//  1. joins the thread of the first id found in the index, trying its
//     In-Reply-To ids, then its References from the last (its parent)
//     back to the root, then its own Message-ID (found when a reply to it
//     arrived first and named it: a reply before its parent);
//  2. else starts a thread whose id is its own EMAILID;
//  3. then records its own Message-ID as owned by that thread (replacing
//     a not-owned entry), and every id it refers to that the index does
//     not have yet as not owned.
//
// The id never changes once given (RFC 8474 §5.2; JMAP, RFC 8621 §4.1.1,
// has threadId immutable too): COPY and MOVE copy it, RENAME keeps the
// rows. So two threads that a later message turns out to connect are
// never merged: the message joins its nearest ancestor's thread (rule 1)
// and the other thread keeps its id. Cyrus and Stalwart merge instead,
// which rewrites the thread id of messages a client has already seen;
// Gmail does not merge either. A reply that arrives before its parent
// is the common case of the two and needs no merge: the reply records
// its parent's id (rule 3), so the parent joins the reply's thread when
// it comes. Subjects are not compared (Gmail and Cyrus split a thread
// whose subject changes): RFC 5256's base subject keeps localized reply
// prefixes such as "AW:" and "SV:", which would split ordinary
// conversations, and Thunderbird's default threading uses the
// references alone too. Entries stay after their messages are expunged,
// so a late reply still finds a thread whose other messages were
// deleted; they go with the account.

// ThreadObjectID renders a message's RFC 8474 THREADID; "" for 0 (no
// thread: FETCH answers THREADID NIL).
func ThreadObjectID(id int64) string {
	if id == 0 {
		return ""
	}
	return "T" + strconv.FormatUint(uint64(id), 16)
}

// ParseThreadObjectID is ThreadObjectID's inverse; ok is false for a
// string no message of this store can have.
func ParseThreadObjectID(s string) (int64, bool) {
	if len(s) < 2 || len(s) > 17 || s[0] != 'T' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 63)
	if err != nil || v == 0 || strconv.FormatUint(v, 16) != s[1:] {
		return 0, false
	}
	return int64(v), true
}

// ThreadKey is the thread index key of a Message-ID: the first 8 bytes
// of its SHA-256. Fixed-size keys keep the index small whatever the ids'
// lengths; a collision (2^-64 per pair within one account) can only put
// two messages in one thread.
func ThreadKey(msgID string) int64 {
	sum := sha256.Sum256([]byte(msgID))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// ThreadEntry is one key's row in an account's thread index.
type ThreadEntry struct {
	Thread int64
	Owned  bool
}

// ThreadWrite is one change to the thread index: Owned writes insert
// the key or replace a not-owned entry (never an owned one); the others
// insert only a key that is absent.
type ThreadWrite struct {
	Key    int64
	Thread int64
	Owned  bool
}

// ThreadLookupKeys returns the keys that AssignThreads needs read from
// the account's index for msgs, without duplicates.
func ThreadLookupKeys(msgs []NewMessage) []int64 {
	var keys []int64
	seen := map[int64]bool{}
	add := func(id string) {
		if id == "" {
			return
		}
		k := ThreadKey(id)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for i := range msgs {
		for _, r := range msgs[i].References {
			add(r)
		}
		add(msgs[i].MessageID)
	}
	return keys
}

// AssignThreads decides the thread of each message by the rules above.
// emailIDs are the messages' EMAILIDs as they will be stored; known
// holds the index entries of ThreadLookupKeys(msgs) that exist, read in
// the writing transaction under a lock that keeps other deliveries to
// the account out until it commits. It is updated as messages are
// assigned, so a later message of msgs sees an earlier one (a
// MULTIAPPEND of a parent and its reply). It returns each message's
// thread id and the index writes to make, in order.
func AssignThreads(msgs []NewMessage, emailIDs []int64, known map[int64]ThreadEntry) ([]int64, []ThreadWrite) {
	threads := make([]int64, len(msgs))
	var writes []ThreadWrite
	for i := range msgs {
		nm := &msgs[i]
		t := nm.ThreadID
		if t == 0 {
			for _, r := range nm.References {
				if e, ok := known[ThreadKey(r)]; ok {
					t = e.Thread
					break
				}
			}
		}
		if t == 0 && nm.MessageID != "" {
			if e, ok := known[ThreadKey(nm.MessageID)]; ok {
				t = e.Thread
			}
		}
		if t == 0 {
			t = emailIDs[i]
		}
		threads[i] = t
		if nm.MessageID != "" {
			k := ThreadKey(nm.MessageID)
			if e, ok := known[k]; !ok || !e.Owned {
				known[k] = ThreadEntry{Thread: t, Owned: true}
				writes = append(writes, ThreadWrite{Key: k, Thread: t, Owned: true})
			}
		}
		for _, r := range nm.References {
			k := ThreadKey(r)
			if _, ok := known[k]; !ok {
				known[k] = ThreadEntry{Thread: t}
				writes = append(writes, ThreadWrite{Key: k, Thread: t})
			}
		}
	}
	return threads, writes
}
