package header

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// RFC 5322 §3.6.4's own example thread (Appendix A.2): a reply and a
// reply to the reply, plus the broken forms seen in real mail.
func TestThreadFields(t *testing.T) {
	for _, tc := range []struct {
		name, hdr string
		id        string
		refs      []string
	}{
		{"A.2 original",
			"From: John Doe <jdoe@machine.example>\r\nMessage-ID: <1234@local.machine.example>\r\n\r\n",
			"1234@local.machine.example", nil},
		{"A.2 reply",
			"Message-ID: <3456@example.net>\r\nIn-Reply-To: <1234@local.machine.example>\r\nReferences: <1234@local.machine.example>\r\n\r\n",
			"3456@example.net", []string{"1234@local.machine.example"}},
		{"A.2 reply to reply",
			"Message-ID: <abcd.1234@local.machine.test>\r\nIn-Reply-To: <3456@example.net>\r\n" +
				"References: <1234@local.machine.example>\r\n <3456@example.net>\r\n\r\n",
			"abcd.1234@local.machine.test", []string{"3456@example.net", "1234@local.machine.example"}},
		{"in-reply-to differs from last reference",
			"Message-ID: <m@x>\r\nReferences: <a@x> <b@x>\r\nIn-Reply-To: <c@x>\r\n\r\n",
			"m@x", []string{"c@x", "b@x", "a@x"}},
		{"no message-id, invalid ids skipped",
			"References: <root@x> <broken> garbage <p@x>\r\n\r\n",
			"", []string{"p@x", "root@x"}},
		{"own id in references dropped",
			"Message-ID: <m@x>\r\nReferences: <a@x> <m@x>\r\n\r\n",
			"m@x", []string{"a@x"}},
		{"first field wins, case-insensitive names",
			"message-id: <one@x>\r\nMESSAGE-ID: <two@x>\r\nin-reply-to: <p@x>\r\nIn-Reply-To: <q@x>\r\n\r\n",
			"one@x", []string{"p@x"}},
		{"body not read",
			"Subject: x\r\n\r\nMessage-ID: <body@x>\r\n",
			"", nil},
		{"in-reply-to with a phrase (RFC 822 style)",
			"In-Reply-To: Your message of \"Mon, 1 Jan\" <p@x>\r\n\r\n",
			"", []string{"p@x"}},
	} {
		id, refs := ThreadFields([]byte(tc.hdr))
		if id != tc.id || !slices.Equal(refs, tc.refs) {
			t.Errorf("%s: ThreadFields = %q %q, want %q %q", tc.name, id, refs, tc.id, tc.refs)
		}
	}
}

// A References field longer than MaxThreadRefs keeps the nearest
// ancestors and the root.
func TestThreadFieldsLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("Message-ID: <self@x>\r\nReferences:")
	const n = 3 * MaxThreadRefs
	for i := range n {
		fmt.Fprintf(&b, " <r%d@x>", i)
	}
	b.WriteString("\r\n\r\n")
	_, refs := ThreadFields([]byte(b.String()))
	if len(refs) != MaxThreadRefs {
		t.Fatalf("%d refs, want MaxThreadRefs (%d)", len(refs), MaxThreadRefs)
	}
	if refs[0] != fmt.Sprintf("r%d@x", n-1) || refs[MaxThreadRefs-2] != fmt.Sprintf("r%d@x", n-MaxThreadRefs+1) {
		t.Errorf("nearest ancestors not kept: %q ... %q", refs[0], refs[MaxThreadRefs-2])
	}
	if refs[MaxThreadRefs-1] != "r0@x" {
		t.Errorf("root not kept: last is %q", refs[MaxThreadRefs-1])
	}
}

// FuzzThreadFields: never panics; at most MaxThreadRefs refs, no
// duplicates, never the message's own id, every id has an "@".
func FuzzThreadFields(f *testing.F) {
	for _, s := range []string{
		"Message-ID: <a@b>\r\nReferences: <c@d> <e@f>\r\nIn-Reply-To: <e@f>\r\n\r\n",
		"References: <a@b>\r\n <a@b> <\"q x\"@y>\r\n\r\n",
		"In-Reply-To: <<<@>>>\r\nMessage-ID:\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, refs := ThreadFields([]byte(s))
		if len(refs) > MaxThreadRefs {
			t.Fatalf("%d refs", len(refs))
		}
		seen := map[string]bool{}
		for _, r := range refs {
			if r == id || seen[r] || !strings.Contains(r, "@") {
				t.Fatalf("ThreadFields(%q): bad ref %q (own %q, refs %q)", s, r, id, refs)
			}
			seen[r] = true
		}
	})
}
