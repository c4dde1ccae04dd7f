package submission

import (
	"strings"
	"testing"
)

func TestSenderOwns(t *testing.T) {
	s := Sender{
		LocalDomains: []string{"localhost", "Example.ORG"},
		Addresses: map[string][]string{
			"alice":           {"a.liddell@wonderland.example", "@alice.example"},
			"Bob@example.net": {"robert@example.net"},
		},
	}
	tests := []struct {
		acct, addr string
		want       bool
	}{
		{"alice", "alice@localhost", true},
		{"alice", "ALICE@example.org", true},
		{"alice", "alice+news@example.org", true},
		{"alice", "alice@example.net", false}, // not a local domain
		{"alice", "a.liddell@wonderland.example", true},
		{"alice", "a.liddell+x@wonderland.example", true},
		{"alice", "anyone@alice.example", true},
		{"alice", "anyone@sub.alice.example", false},
		{"alice", "bob@localhost", false},
		{"alice", "alice", false}, // not an address
		{"alice", "@localhost", false},
		{"alice", "", false},
		{"bob@example.net", "bob@example.net", true},
		{"bob@example.net", "Bob+tag@Example.net", true},
		{"bob@example.net", "bob@localhost", false}, // the name is an address: no local-domain form
		{"bob@example.net", "robert@example.net", true},
		{"alicex", "alice@localhost", false},
		{"alice", "alice+@localhost", true}, // an empty detail is still alice's
	}
	for _, tc := range tests {
		if got := s.Owns(tc.acct, tc.addr); got != tc.want {
			t.Errorf("Owns(%q, %q) = %v, want %v", tc.acct, tc.addr, got, tc.want)
		}
	}
}

func TestCheckHeader(t *testing.T) {
	s := Sender{LocalDomains: []string{"localhost"}}
	tests := []struct {
		hdr  string
		want string // "" or a part of the reason
	}{
		{"From: Alice <alice@localhost>\r\nSubject: x\r\n\r\n", ""},
		{"from: alice@localhost\r\n\r\n", ""},
		{"From: \"Liddell, Alice\" <alice@localhost>, alice+x@localhost\r\nSender: alice@localhost\r\n\r\n", ""},
		{"From: =?utf-8?q?Al=C3=AFce?=\r\n <alice@localhost>\r\n\r\n", ""}, // folded
		{"From: Friends: alice@localhost;\r\n\r\n", ""},                    // a group
		{"Subject: no from\r\n\r\n", "no From"},
		{"From: alice@localhost\r\nFrom: alice@localhost\r\n\r\n", "more than one"},
		{"From: alice@localhost, mallory@example.org\r\n\r\n", "<mallory@example.org> is not yours"},
		{"From: alice@localhost\r\nSender: mallory@example.org\r\n\r\n", "<mallory@example.org>"},
		{"From: undisclosed:;\r\n\r\n", "no address"},
		{"From: <alice@\r\n\r\n", "not yours"},
		{"From: alice@localhost\r\n\r\nFrom: mallory@example.org\r\n", ""}, // the body is not the header
		{"From: Al\riCe@localhost\r\n\r\n", "control character"},           // a bare CR the parser would drop
		{"Subject: a\x00b\r\nFrom: alice@localhost\r\n\r\n", "control character"},
	}
	for _, tc := range tests {
		got := s.checkHeader("alice", []byte(tc.hdr))
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("checkHeader(%q) = %q, want %q", tc.hdr, got, tc.want)
		}
	}
}

// FuzzCheckHeader: any header block is judged without a panic, and a
// block the account did not write (no address of its own) is refused.
func FuzzCheckHeader(f *testing.F) {
	for _, s := range []string{"From: alice@localhost\r\n\r\n", "From: a\r\n b <alice@localhost>\r\n", "From: g: alice@localhost;\r\n", "Sender: x\r\n", ""} {
		f.Add(s)
	}
	s := Sender{LocalDomains: []string{"localhost"}}
	f.Fuzz(func(t *testing.T, hdr string) {
		why := s.checkHeader("alice", []byte(hdr))
		if why == "" && !strings.Contains(strings.ToLower(hdr), "alice") {
			t.Fatalf("accepted a header with no address of alice: %q", hdr)
		}
	})
}
