package sqlite

import (
	"context"
	"fmt"
	"testing"

	"barid/internal/store"
)

// TestIndexTextOneSegment: a chunk of IndexText is one writer
// transaction, and its contents must reach each fts5 table as one new
// segment (written at COMMIT), not one per content. fts5 flushes its
// pending terms at every statement savepoint once it holds some, so a
// statement that opens one (INSERT ... RETURNING, a table with
// triggers) between two documents' inserts splits the segment; written
// that way the chunk of 4 made 4 segments per table, and the merges
// and WAL pages that go with them.
func TestIndexTextOneSegment(t *testing.T) {
	ctx := context.Background()
	msgs := make([]store.NewMessage, indexTextChunk)
	docs := make([]store.TextDoc, indexTextChunk)
	for i := range msgs {
		msgs[i] = store.NewMessage{BlobID: fmt.Sprintf("blob%d", i), Size: 10}
		docs[i] = store.TextDoc{BlobID: msgs[i].BlobID, Head: fmt.Sprintf("subject: note %d\n", i),
			Body: fmt.Sprintf("body word%d of the message\n", i)}
	}
	s, mb, _ := openInbox(t, "", Options{}, msgs)
	if err := s.IndexText(ctx, docs); err != nil {
		t.Fatal(err)
	}
	for _, tb := range []string{"fts_text", "fts_wbody", "fts_whead", "fts_vocab_tri"} {
		// fts5's leaf rowids carry the segment id above bit 37; ids 1
		// (averages) and 10 (structure) are not segments.
		var segs int
		if err := s.read(ctx, func(r *reader) error {
			return r.queryRow(`SELECT count(DISTINCT id >> 37) FROM ` + tb + `_data WHERE id >> 37 > 0`).Scan(&segs)
		}); err != nil {
			t.Fatal(err)
		}
		if segs != 1 {
			t.Errorf("%s: %d segments after one chunk of %d contents, want 1", tb, segs, len(docs))
		}
	}
	// The documents are all there, each under its own rowid.
	for i := range docs {
		got, err := s.TextCandidates(ctx, mb.ID, []string{fmt.Sprintf("word%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != store.UID(i+1) {
			t.Errorf("word%d: candidates %v, want [%d]", i, got, i+1)
		}
	}
}
