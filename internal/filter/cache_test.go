package filter_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"barid/internal/store"
)

// TestScriptCacheSeesChanges: the compiled script is cached per
// account, and a change made through the store (as another node or
// `barid sieve put` would make it) reaches the next delivery: the
// active script replaced, and a script it includes (RFC 6609) replaced
// while the including one stays the same.
func TestScriptCacheSeesChanges(t *testing.T) {
	s := startSieve(t, t.TempDir(), nil)
	const user = "alice@example.org"
	s.AddUser(user, "pw")
	s.putScript(user, "pw", "inc", `require ["fileinto", "mailbox"]; fileinto :create "A";`)
	s.putScript(user, "pw", "main", `require "include"; include :personal "inc";`)
	ctx := context.Background()
	a, err := s.Store().Account(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	ss := s.Store().(store.SieveScripts)
	deliver := func(subject string) {
		t.Helper()
		if r := s.lmtpSend("carol@example.net", []string{user}, msg("carol@example.net", user, subject)); !strings.HasPrefix(r[0], "250") {
			t.Fatalf("delivery: %q", r)
		}
	}
	deliver("one")
	deliver("two") // from the cache
	if err := ss.PutSieveScript(ctx, a.ID, "inc", []byte(`require ["fileinto", "mailbox"]; fileinto :create "B";`), 0); err != nil {
		t.Fatal(err)
	}
	deliver("three")
	if err := ss.PutSieveScript(ctx, a.ID, "main", []byte(`require ["fileinto", "mailbox"]; fileinto :create "C";`), 0); err != nil {
		t.Fatal(err)
	}
	deliver("four")
	for box, want := range map[string][]string{"A": {"one []", "two []"}, "B": {"three []"}, "C": {"four []"}, "INBOX": nil} {
		if got := s.box(user, box); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", box, got, want)
		}
	}
}
