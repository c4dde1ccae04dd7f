package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/store"
)

// deliverRun runs "barid deliver ARGS" in-process with msg on stdin.
func deliverRun(t *testing.T, msg string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"deliver"}, args...), strings.NewReader(msg), &out, &errb)
	return code, out.String() + errb.String()
}

// The sysexits contract of "barid deliver", with the server down and
// with it running (hand-off over <data>/lmtp.sock).
func TestDeliverCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.IMAP.Listen, cfg.IMAP.ListenTLS = "", ""
	cfg.LogLevel = "error"
	d, err := app.OpenData(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	acct, err := d.Store.CreateAccount(context.Background(), "alice", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.EnsureDefaultMailboxes(context.Background(), d.Store, acct.ID); err != nil {
		t.Fatal(err)
	}
	d.Close()
	const msg = "From a@example.net Thu Nov 26 11:00:00 2026\nSubject: t\n\nbody\n"

	check := func(phase string) {
		tests := []struct {
			name string
			args []string
			msg  string
			want int
		}{
			{"delivered", []string{"--data", dir, "alice"}, msg, 0},
			{"user after flags, mailbox", []string{"--data", dir, "--mailbox", "Archive", "--from", "a@example.net", "Alice@localhost"}, msg, 0},
			{"unknown user", []string{"--data", dir, "bob"}, msg, 67},
			{"no user", []string{"--data", dir}, msg, 64},
			{"two users", []string{"--data", dir, "alice", "bob"}, msg, 64},
			{"bad flag", []string{"--nope", "alice"}, msg, 64},
			{"no database", []string{"--data", filepath.Join(dir, "missing"), "alice"}, msg, 75},
			{"bad config", []string{"--config", filepath.Join(dir, "none.toml"), "alice"}, msg, 75},
		}
		for _, tc := range tests {
			code, out := deliverRun(t, tc.msg, tc.args...)
			if code != tc.want {
				t.Errorf("%s: %s: exit %d, want %d\n%s", phase, tc.name, code, tc.want, out)
			}
			if tc.want == 67 && !strings.HasPrefix(out, "5.1.1 ") {
				t.Errorf("%s: %s: output should start with the enhanced status code for Postfix: %q", phase, tc.name, out)
			}
		}
	}
	check("server down")

	cfg.LMTP.Listen = ""
	cfg.Limits.LiteralSize = 100 << 10 // the server's limit applies to hand-offs
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	if _, err := os.Stat(filepath.Join(dir, app.HandoffSocket)); err != nil {
		t.Fatalf("no hand-off socket: %v", err)
	}
	check("server up")
	// Over limits.literal_size: refused permanently as bad data.
	if code, out := deliverRun(t, "Subject: big\n\n"+strings.Repeat(strings.Repeat("x", 99)+"\n", 2<<10), "--data", dir, "alice"); code != 65 {
		t.Errorf("too big: exit %d, want 65: %s", code, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	d, err = app.OpenData(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for mb, want := range map[string]int{"INBOX": 2, "Archive": 2} {
		m, err := d.Store.Mailbox(context.Background(), acct.ID, mb)
		if err != nil {
			t.Fatal(err)
		}
		_, uids, _ := d.Store.MessageUIDs(context.Background(), m.ID)
		if len(uids) != want {
			t.Errorf("%s has %d messages, want %d", mb, len(uids), want)
		}
		d.Store.FetchMessages(context.Background(), m.ID, uids, store.FieldHeader, func(m *store.Message) error {
			h := string(m.Header)
			if strings.HasPrefix(h, "From ") || !strings.Contains(h, "Subject: t\r\n") {
				t.Errorf("%s: header %q", mb, h)
			}
			if mb == "Archive" && !strings.HasPrefix(h, "Return-Path: <a@example.net>\r\n") {
				t.Errorf("--from adds Return-Path: %q", h)
			}
			return nil
		})
	}
}
