package server

import (
	"strings"
	"testing"

	"barid/internal/store"
)

// RFC 5464 §3.2 entry names, with Dovecot's verdicts.
func TestCheckEntryName(t *testing.T) {
	for _, tc := range []struct{ in, want, bad string }{
		{"/private/comment", "/private/comment", ""},
		{"/Shared/Vendor/X", "/shared/vendor/x", ""},
		{"/shared", "/shared", ""},
		{"/foo", "", "Entry name must begin with /private or /shared"},
		{"/privatex", "", "Entry name must begin with /private or /shared"},
		{"private/x", "", "Entry name must begin with /private or /shared"},
		{"/shared/a*", "", "Entry name can't contain '*'"},
		{"/shared/%", "", "Entry name can't contain '%'"},
		{"/shared//x", "", "Entry name can't contain consecutive '/'"},
		{"/shared/x/", "", "Entry name can't end with '/'"},
		{"/shared/a\x01", "", "Entry name can't contain control characters"},
	} {
		got, bad := checkEntryName(tc.in)
		if got != tc.want || bad != tc.bad {
			t.Errorf("checkEntryName(%q) = %q, %q; want %q, %q", tc.in, got, bad, tc.want, tc.bad)
		}
	}
}

func entries(kv ...string) []store.MetadataEntry {
	var out []store.MetadataEntry
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, store.MetadataEntry{Name: kv[i], Value: []byte(kv[i+1])})
	}
	return out
}

func render(es []store.MetadataEntry) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Name)
		if e.Value == nil {
			b.WriteString("=NIL ")
		} else {
			b.WriteString("=" + string(e.Value) + " ")
		}
	}
	return b.String()
}

// RFC 5464 §4.2.1 MAXSIZE and §4.2.2 DEPTH.
func TestSelectMetadata(t *testing.T) {
	all := entries("/private/a", "1", "/private/a/b", "22", "/private/a/b/c", "333", "/private/ab", "x", "/shared/comment", "hello")
	for _, tc := range []struct {
		req     []string
		o       getMetadataOptions
		want    string
		longest int64
	}{
		{[]string{"/private/a"}, getMetadataOptions{maxSize: -1}, "/private/a=1 ", -1},
		{[]string{"/private/none", "/shared/comment"}, getMetadataOptions{maxSize: -1}, "/private/none=NIL /shared/comment=hello ", -1},
		{[]string{"/private/a"}, getMetadataOptions{maxSize: -1, depth: 1}, "/private/a=1 /private/a/b=22 ", -1},
		{[]string{"/private/a"}, getMetadataOptions{maxSize: -1, depth: -1}, "/private/a=1 /private/a/b=22 /private/a/b/c=333 ", -1},
		{[]string{"/private"}, getMetadataOptions{maxSize: 1, depth: -1}, "/private/a=1 /private/ab=x ", 3},
		{[]string{"/private/none"}, getMetadataOptions{maxSize: -1, depth: 1}, "", -1},
		{[]string{"/shared/comment", "/shared/comment"}, getMetadataOptions{maxSize: 0}, "", 5},
	} {
		got, longest := selectMetadata(all, tc.req, tc.o)
		if render(got) != tc.want || longest != tc.longest {
			t.Errorf("selectMetadata(%v, %+v) = %q, %d; want %q, %d", tc.req, tc.o, render(got), longest, tc.want, tc.longest)
		}
	}
}

// FuzzMetadataEntryName: checkEntryName never panics, and what it
// accepts is lower-case, under /private or /shared, and accepted again
// unchanged.
func FuzzMetadataEntryName(f *testing.F) {
	for _, s := range []string{"/private/comment", "/shared", "/Shared/A/B", "/shared//x", "/x", "", "/shared/a*", "/private/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, bad := checkEntryName(s)
		if bad != "" {
			if got != "" {
				t.Fatalf("%q: rejected with a name %q", s, got)
			}
			return
		}
		if got != strings.ToLower(got) || !(strings.HasPrefix(got, "/private") || strings.HasPrefix(got, "/shared")) {
			t.Fatalf("%q accepted as %q", s, got)
		}
		if again, bad := checkEntryName(got); again != got || bad != "" {
			t.Fatalf("%q: not stable: %q %q", got, again, bad)
		}
		selectMetadata(entries(got, "v"), []string{got}, getMetadataOptions{maxSize: 0, depth: -1})
	})
}
