package postgres

import (
	"github.com/jackc/pgx/v5"

	"barid/internal/store"
)

// The store's store.KnownKeywords is exact on every node sharing the
// database: the keywords table only grows while a mailbox lives, a
// spelling never changes (keywordCache), a mailbox id is never reused,
// and a spelling is added only after the transaction that read or
// inserted it committed (ptx.afterCommit). So it is never dropped.

// learnKeyword makes the spelling known once tx commits; a tx that is
// not this store's own (ptx) teaches nothing.
func (s *Store) learnKeyword(tx pgx.Tx, b store.KeywordBox, lname, name string) {
	if t, ok := tx.(*ptx); ok {
		t.afterCommit = append(t.afterCommit, func() { s.kwKnown.Add(b, lname, name) })
	}
}
