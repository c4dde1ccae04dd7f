package main

import (
	"context"
	"strings"
	"testing"

	"barid/internal/store"
	"barid/internal/store/postgres"
	"barid/internal/store/postgres/pgtest"
)

// TestMetadataFlag: --metadata points user and deliver at a PostgreSQL
// database whatever the data folder, so two "nodes" with different data
// folders share accounts and (inline) messages.
func TestMetadataFlag(t *testing.T) {
	u := pgtest.Database(t)
	nodeA, nodeB := t.TempDir(), t.TempDir()
	if code, out, errs := runCLI(t, "pw\n", "user", "add", "--data", nodeA, "--metadata", u, "alice"); code != 0 || !strings.Contains(out, "alice") {
		t.Fatalf("user add: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, "", "user", "list", "--data", nodeB, "--metadata", u); code != 0 || out != "alice\n" {
		t.Fatalf("user list on the other node: %d %q %q", code, out, errs)
	}
	// Without the flag, node B's own SQLite database has no accounts.
	if code, out, errs := runCLI(t, "", "user", "list", "--data", nodeB); code != 0 || out != "" {
		t.Fatalf("user list in SQLite: %d %q %q", code, out, errs)
	}
	// A third node's data folder, empty: no barid.db is needed when the
	// metadata is in PostgreSQL.
	nodeC := t.TempDir()
	msg := "From: bob@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
	if code, out, errs := runCLI(t, msg, "deliver", "--data", nodeC, "--metadata", u, "alice"); code != 0 {
		t.Fatalf("deliver: %d %q %q", code, out, errs)
	}
	// A data folder that does not exist is a configuration error: the
	// MTA keeps the message (EX_TEMPFAIL).
	if code, _, errs := runCLI(t, msg, "deliver", "--data", nodeC+"/missing", "--metadata", u, "alice"); code != exTempFail {
		t.Fatalf("deliver into a missing folder: %d %q", code, errs)
	}
	// The message is in PostgreSQL, bytes included (inline), so node A
	// can serve it although it was delivered through node C.
	ctx := context.Background()
	st, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	in, err := st.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var blobID string
	err = st.FetchMessages(ctx, in.ID, []store.UID{1}, store.FieldBasics, func(m *store.Message) error {
		blobID = m.BlobID
		return nil
	})
	if err != nil || blobID == "" {
		t.Fatalf("delivered message not in PostgreSQL (err %v)", err)
	}
	data, ok, err := st.OpenInline(ctx, blobID)
	if err != nil || !ok || !strings.Contains(string(data), "hello") {
		t.Fatalf("inline bytes: ok=%v err=%v %q", ok, err, data)
	}
}

// TestMetadataFlagRefused: a --metadata that is not a PostgreSQL URL is
// refused before anything is opened, without echoing the value.
func TestMetadataFlagRefused(t *testing.T) {
	code, _, errs := runCLI(t, "", "user", "list", "--data", t.TempDir(), "--metadata", "mysql://u:hunter2@h/db")
	if code != 1 || !strings.Contains(errs, "storage.metadata") || strings.Contains(errs, "hunter2") {
		t.Fatalf("user list: %d %q", code, errs)
	}
	var f serveFlags
	f.metadata = "postgres://h/db"
	cfg, err := f.load()
	if err != nil || cfg.Storage.Metadata != "postgres://h/db" {
		t.Fatalf("serve --metadata: %v %q", err, cfg.Storage.Metadata)
	}
	f.metadata = "/tmp/x.db"
	if _, err := f.load(); err == nil || !strings.Contains(err.Error(), "storage.metadata") {
		t.Fatalf("serve --metadata /tmp/x.db: %v", err)
	}
}
