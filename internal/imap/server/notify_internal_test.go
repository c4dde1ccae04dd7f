package server

import (
	"bufio"
	"errors"
	"slices"
	"strings"
	"testing"

	"barid/internal/imap"
	"barid/internal/imap/wire"
)

// parseNotifyLine runs the NOTIFY parser over the arguments of one
// command line (what follows "NOTIFY "), as handleNotify does.
func parseNotifyLine(line string) (*notifySpec, error) {
	c := &Conn{}
	c.dec = wire.NewDecoder(bufio.NewReader(strings.NewReader(line)), wire.Options{
		MaxLineLength:  8192,
		MaxLiteralSize: 1 << 20,
		MaxDepth:       64,
		Continue:       func(int64, bool) error { return nil },
	})
	c.dec.ResetLine()
	return c.parseNotify()
}

// The commands of RFC 5465's examples (§3.1, errata 2318 included),
// with their events parenthesized as the §8 grammar requires (the
// examples' own "(subtree Lists MessageNew)" does not parse under it,
// nor under Dovecot), and the forms of §5 and §6.
func TestParseNotifyRFCExamples(t *testing.T) {
	type group struct {
		filter mbFilter
		names  []string
		events notifyEvents
	}
	tests := []struct {
		line      string
		none      bool
		status    bool
		selected  notifyEvents
		hasSel    bool
		delayed   bool
		fetchLen  int
		groups    []group
		unsupport []string
	}{
		{line: "NONE\r\n", none: true},
		{
			// §3.1, first NOTIFY of the example.
			line:   "set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))\r\n",
			status: true, hasSel: true, selected: evNew | evExpunge, fetchLen: 2,
			groups: []group{{filterSubtree, []string{"Lists"}, evNew | evExpunge}},
		},
		{
			// §3.1 after errata 2318: a mailbox added to the watch list.
			line:   "set (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew)) (mailboxes misc (MessageNew))\r\n",
			hasSel: true, selected: evNew | evExpunge, fetchLen: 2,
			groups: []group{{filterSubtree, []string{"Lists"}, evNew}, {filterMailboxes, []string{"misc"}, evNew}},
		},
		{
			// §6.1.2 SELECTED-DELAYED; §6.4 SUBSCRIBED; §5.4, §5.5.
			line:   "SET (SELECTED-DELAYED (MessageNew MessageExpunge FlagChange)) (subscribed (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\n",
			hasSel: true, delayed: true, selected: evNew | evExpunge | evFlags,
			groups: []group{{filterSubscribed, nil, evNew | evExpunge | evMailboxName | evSubscription}},
		},
		{
			// §6.2, §6.3, several names (§6.6), NONE events (§5).
			line: "SET (inboxes (MessageNew MessageExpunge)) (personal (MailboxName)) (mailboxes (INBOX inbox/x \"Sent Items\") NONE)\r\n",
			groups: []group{
				{filterInboxes, nil, evNew | evExpunge},
				{filterPersonal, nil, evMailboxName},
				{filterMailboxes, []string{"INBOX", "INBOX/x", "Sent Items"}, 0},
			},
		},
		{
			// SELECTED NONE: the snapshot of §3.1.
			line:   "SET (selected NONE) (personal (MailboxName))\r\n",
			hasSel: true,
			groups: []group{{filterPersonal, nil, evMailboxName}},
		},
		{
			// Unsupported events (§3.1: NO [BADEVENT]), each named once.
			line:      "SET (personal (MessageNew MessageExpunge AnnotationChange MailboxMetadataChange ServerMetadataChange annotationchange XFoo))\r\n",
			groups:    []group{{filterPersonal, nil, evNew | evExpunge | evAnnotation}},
			unsupport: []string{"AnnotationChange", "MailboxMetadataChange", "ServerMetadataChange", "XFoo"},
		},
		{
			// Names are taken literally: "*" is no pattern (§6.6), and
			// a name that cannot exist is dropped.
			line:   "SET (subtree (\"*\" \"Lists/%\") (MessageNew MessageExpunge))\r\n",
			groups: []group{{filterSubtree, nil, evNew | evExpunge}},
		},
	}
	for _, tt := range tests {
		spec, err := parseNotifyLine(tt.line)
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if tt.none {
			if spec != nil {
				t.Fatalf("%q: want NOTIFY NONE, got %+v", tt.line, spec)
			}
			continue
		}
		if spec.status != tt.status || spec.selected != tt.selected || spec.hasSelected != tt.hasSel || spec.delayed != tt.delayed {
			t.Fatalf("%q: status %v selected %b has %v delayed %v", tt.line, spec.status, spec.selected, spec.hasSelected, spec.delayed)
		}
		if (spec.fetch == nil) != (tt.fetchLen == 0) || (spec.fetch != nil && len(spec.fetch.items) != tt.fetchLen) {
			t.Fatalf("%q: fetch %+v, want %d items", tt.line, spec.fetch, tt.fetchLen)
		}
		if len(spec.groups) != len(tt.groups) {
			t.Fatalf("%q: %d groups, want %d", tt.line, len(spec.groups), len(tt.groups))
		}
		for i, g := range tt.groups {
			got := spec.groups[i]
			if got.filter != g.filter || got.events != g.events || !slices.Equal(got.names, g.names) {
				t.Fatalf("%q: group %d = %+v, want %+v", tt.line, i, got, g)
			}
		}
		if !slices.Equal(spec.unsupported, tt.unsupport) {
			t.Fatalf("%q: unsupported %v, want %v", tt.line, spec.unsupported, tt.unsupport)
		}
	}
}

// Every malformed NOTIFY is a BAD (RFC 5465 §5, §6.1, §8) with a text
// that says what is wrong.
func TestParseNotifyErrors(t *testing.T) {
	tests := []struct{ line, text string }{
		{"FOO\r\n", "SET or NONE"},
		{"SET\r\n", "SP"},
		{"SET ()\r\n", ""},
		{"SET STATUSX (personal (MailboxName))\r\n", "STATUS or an event group"},
		{"NONE extra\r\n", "end of line"},
		{"SET (personal)\r\n", "mailbox specifier and events"},
		{"SET (personal ())\r\n", "empty NOTIFY event list"},
		{"SET (personal FOO)\r\n", "a list or NONE"},
		{"SET (sometimes (MessageNew))\r\n", "Unknown NOTIFY mailbox specifier"},
		{"SET (subtree (MessageNew MessageExpunge))\r\n", "mailbox specifier and events"},
		{"SET (personal (MailboxName) extra)\r\n", "Unexpected data"},
		{"SET (personal (MailboxName (UID)))\r\n", "Only MessageNew"},
		{"SET (selected (MessageNew (UID) (FLAGS) MessageExpunge))\r\n", "Only MessageNew"},
		{"SET (selected (MessageNew (BOGUS) MessageExpunge))\r\n", "Unknown FETCH data item"},
		{"SET (selected (MessageNew))\r\n", "MessageNew and MessageExpunge must be specified together"},
		{"SET (selected (MessageExpunge))\r\n", "MessageNew and MessageExpunge must be specified together"},
		{"SET (selected (FlagChange))\r\n", "FlagChange and AnnotationChange require"},
		{"SET (selected (AnnotationChange))\r\n", "FlagChange and AnnotationChange require"},
		{"SET (selected (MessageNew MessageExpunge MailboxName))\r\n", "message events only"},
		{"SET (selected-delayed (SubscriptionChange))\r\n", "message events only"},
		{"SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))\r\n", "Only one SELECTED"},
		{"SET (selected NONE) (selected NONE)\r\n", "Only one SELECTED"},
		{"SET (personal (MailboxName))  (personal (MailboxName))\r\n", ""},
	}
	for _, tt := range tests {
		spec, err := parseNotifyLine(tt.line)
		if err == nil {
			t.Fatalf("%q: accepted as %+v", tt.line, spec)
		}
		var ie *imap.Error
		var se *wire.SyntaxError
		switch {
		case errors.As(err, &ie):
			if ie.Type != "BAD" {
				t.Fatalf("%q: %s, want BAD", tt.line, ie.Type)
			}
		case errors.As(err, &se):
		default:
			t.Fatalf("%q: error %T %v is neither BAD nor a syntax error", tt.line, err, err)
		}
		if !strings.Contains(err.Error(), tt.text) {
			t.Fatalf("%q: error %q does not mention %q", tt.line, err, tt.text)
		}
	}
}

// Groups are read in order: the first that covers a mailbox and names
// the event, or covers it with NONE, decides.
func TestNotifyMatch(t *testing.T) {
	spec, err := parseNotifyLine("SET (mailboxes Junk NONE) (subtree Lists (MessageNew MessageExpunge)) (subscribed (FlagChange)) (personal (MailboxName))\r\n")
	if err != nil {
		t.Fatal(err)
	}
	subs := map[string]bool{"INBOX": true, "Junk": true}
	tests := []struct {
		name string
		ev   notifyEvents
		want bool
	}{
		{"Junk", evMailboxName, false}, // NONE first
		{"Junk", evFlags, false},
		{"Lists", evNew, true},
		{"Lists/imap", evExpunge, true},
		{"Lists/imap", evMailboxName, true}, // falls through to personal
		{"Listsx", evNew, false},            // a subtree is "/"-bounded
		{"INBOX", evFlags, true},            // subscribed
		{"INBOX", evNew, false},
		{"Sent", evFlags, false},
		{"Sent", evMailboxName, true},
	}
	for _, tt := range tests {
		if got := spec.match(tt.name, tt.ev, subs); got != tt.want {
			t.Errorf("match(%q, %b) = %v, want %v", tt.name, tt.ev, got, tt.want)
		}
	}
	if got := spec.matchAll("Lists/a", evNew|evFlags|evMailboxName, subs); got != evNew|evMailboxName {
		t.Errorf("matchAll = %b", got)
	}
}

// FuzzNotifyParse: the NOTIFY argument parser never panics, and what it
// accepts is consistent (STYLE.md §3).
func FuzzNotifyParse(f *testing.F) {
	for _, s := range []string{
		"NONE\r\n",
		"SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From Subject)] FLAGS MODSEQ) MessageExpunge FlagChange)) (personal (MailboxName SubscriptionChange))\r\n",
		"SET (selected-delayed (MessageNew MessageExpunge)) (subtree (Lists \"a b\" {3}\r\nfoo) (MessageNew MessageExpunge FlagChange))\r\n",
		"SET (inboxes NONE) (subscribed (AnnotationChange)) (mailboxes INBOX (MailboxMetadataChange ServerMetadataChange))\r\n",
		"SET (selected (MessageNew (BINARY.PEEK[1]<0.10> RFC822.SIZE ENVELOPE BODYSTRUCTURE) MessageExpunge))\r\n",
		"SET ((((((((\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		spec, err := parseNotifyLine(line)
		if err != nil || spec == nil {
			return
		}
		if spec.hasSelected {
			both := evNew | evExpunge
			if spec.selected&both != 0 && spec.selected&both != both {
				t.Fatalf("%q: accepted MessageNew without MessageExpunge for SELECTED", line)
			}
			if spec.selected&^evMessage != 0 {
				t.Fatalf("%q: accepted non-message events for SELECTED", line)
			}
		} else if spec.selected != 0 || spec.fetch != nil {
			t.Fatalf("%q: selected events without a SELECTED group", line)
		}
		if len(spec.groups) == 0 && !spec.hasSelected {
			t.Fatalf("%q: NOTIFY SET without an event group", line)
		}
		for _, g := range spec.groups {
			for _, n := range g.names {
				if _, err := normalizeName(n); err != nil {
					t.Fatalf("%q: kept invalid name %q", line, n)
				}
			}
		}
	})
}
