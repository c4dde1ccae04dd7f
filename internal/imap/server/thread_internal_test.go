package server

import (
	"strings"
	"testing"
	"time"

	"barid/internal/mail/casemap"
	"barid/internal/mail/header"
	"barid/internal/store"
)

// tm builds a threadMsg: uid, Message-ID, References (space-separated
// ids, without brackets), Subject, and a date in minutes.
func tm(uid int, id, refs, subject string, minute int) *threadMsg {
	m := &threadMsg{uid: store.UID(uid), id: id, date: time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC)}
	if refs != "" {
		m.refs = strings.Fields(refs)
	}
	m.subject, m.refwd = header.SubjectBase(casemap.Key(subject))
	return m
}

func threadString(roots []*threadNode) string {
	return string(appendThreads(nil, roots, true, func(u store.UID) uint32 { return uint32(u) }))
}

// RFC 5256 §4's example thread lists, written from trees.
func TestAppendThreads(t *testing.T) {
	n := func(uid int, kids ...*threadNode) *threadNode {
		return &threadNode{msg: &threadMsg{uid: store.UID(uid)}, kids: kids}
	}
	roots := []*threadNode{n(2), n(3, n(6, n(4, n(23)), n(44, n(7, n(96)))))}
	if got := threadString(roots); got != "(2)(3 6 (4 23)(44 7 96))" {
		t.Errorf("got %s", got)
	}
	if got := threadString([]*threadNode{{kids: []*threadNode{n(3), n(5)}}}); got != "((3)(5))" {
		t.Errorf("got %s", got)
	}
	if got := threadString(nil); got != "" {
		t.Errorf("got %q", got)
	}
}

// RFC 5256 §3 REFERENCES, step by step; the first cases are imaptest's
// thread..thread8 mailboxes, whose answers are Dovecot's.
func TestThreadReferences(t *testing.T) {
	for _, tt := range []struct {
		name string
		msgs []*threadMsg
		want string
	}{
		{"conflicting parent and loop (imaptest thread)", []*threadMsg{
			tm(1, "a@b", "", "", 17*60), tm(2, "b@b", "a@b c@b", "", 15*60), tm(3, "c@b", "b@b", "", 16*60),
		}, "(3 2)(1)"},
		{"duplicate Message-ID is a message of its own", []*threadMsg{
			tm(1, "a@b", "", "", 0), tm(2, "a@b", "", "", 0),
		}, "(1)(2)"},
		{"duplicate id, subject merge of a reply", []*threadMsg{
			tm(1, "a@b", "", "foo", 0), tm(2, "a@b", "", "Re: foo", 1),
		}, "(1 2)"},
		{"dummy parent with one child is promoted, then merged by subject", []*threadMsg{
			tm(1, "a@b", "", "foo", 0), tm(2, "b@b", "c@b", "Re: foo", 1),
		}, "(1 2)"},
		{"In-Reply-To children sorted by date, ties by UID", []*threadMsg{
			tm(1, "1@b", "", "", 120), tm(2, "2@b", "1@b", "", 0), tm(3, "3@b", "1@b", "", 0), tm(4, "4@b", "2@b", "", 0),
		}, "(1 (2 4)(3))"},
		{"dummy root keeps two children", []*threadMsg{
			tm(1, "", "a@b", "", 0), tm(2, "", "a@b", "", 1),
		}, "((1)(2))"},
		{"a later message fills a dummy", []*threadMsg{
			tm(1, "a@b", "", "", 0), tm(2, "c@b", "b@b", "", 0), tm(3, "b@b", "a@b", "", 0),
		}, "(1 3 2)"},
		{"dummies inside a thread vanish, their children move up", []*threadMsg{
			tm(1, "a@b", "", "", 0), tm(2, "d@b", "a@b x@b y@b", "", 1), tm(3, "e@b", "a@b x@b", "", 2),
		}, "(1 (2)(3))"},
		{"a message that names itself is not its own parent", []*threadMsg{
			tm(1, "a@b", "a@b", "", 0),
		}, "(1)"},
		{"two threads, same subject, neither a reply: a dummy holds both", []*threadMsg{
			tm(1, "a@b", "", "Lunch", 0), tm(2, "b@b", "", "lunch", 5), tm(3, "c@b", "b@b", "Re: lunch", 6),
		}, "((1)(2 3))"},
		{"a reply thread goes under the original", []*threadMsg{
			tm(1, "x@b", "", "Re: Plans", 0), tm(2, "y@b", "", "Plans", 5),
		}, "(2 1)"},
		{"empty subjects are never merged", []*threadMsg{
			tm(1, "a@b", "", "", 0), tm(2, "b@b", "", "Re:", 1),
		}, "(1)(2)"},
		{"a dummy root takes in a same-subject thread", []*threadMsg{
			tm(1, "", "p@b", "Topic", 0), tm(2, "", "p@b", "Re: Topic", 1), tm(3, "q@b", "", "Topic", 2),
		}, "((1)(2)(3))"},
		{"roots by date of their first message", []*threadMsg{
			tm(1, "a@b", "", "one", 30), tm(2, "b@b", "", "two", 10), tm(3, "c@b", "", "three", 20),
		}, "(2)(3)(1)"},
	} {
		if got := threadString(threadReferences(tt.msgs)); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

// RFC 5256 §3 ORDEREDSUBJECT over sort records (sorted by subject, date).
func TestThreadOrderedSubject(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC) }
	recs := []sortRec{
		{uid: 4, subject: "A", date: at(1)}, {uid: 1, subject: "A", date: at(3)}, {uid: 6, subject: "A", date: at(4)},
		{uid: 2, subject: "B", date: at(0)}, {uid: 5, subject: "B", date: at(2)},
		{uid: 3, subject: "C", date: at(1)},
	}
	if got := threadString(threadOrderedSubject(recs)); got != "(2 5)(3)(4 (1)(6))" {
		t.Errorf("got %s", got)
	}
}

// newThreadMsg reads the first of each field; References wins over
// In-Reply-To; invalid ids are skipped.
func TestNewThreadMsg(t *testing.T) {
	hdr := "Message-ID: <me@x>\r\nMessage-ID: <other@x>\r\nIn-Reply-To: <irt@x>\r\n" +
		"References: <bad> <r1@x>\r\n <r2@x>\r\nSubject: =?utf-8?q?Re=3A_Caf=C3=A9?=\r\nSubject: second\r\n\r\n"
	m := newThreadMsg(&store.Message{UID: 7, Header: []byte(hdr)})
	if m.id != "me@x" || strings.Join(m.refs, " ") != "r1@x r2@x" || !m.refwd || m.subject != casemap.Key("Café") {
		t.Errorf("got id %q refs %q subject %q refwd %v", m.id, m.refs, m.subject, m.refwd)
	}
	m = newThreadMsg(&store.Message{UID: 8, Header: []byte("Message-ID: junk\r\nIn-Reply-To: Your mail <irt@x> of today\r\n\r\n")})
	if m.id != "" || strings.Join(m.refs, " ") != "irt@x" || m.subject != "" {
		t.Errorf("got id %q refs %q subject %q", m.id, m.refs, m.subject)
	}
}
