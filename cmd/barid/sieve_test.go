package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/store"
)

// TestSieveCLI walks every verb of "barid sieve" on a data folder,
// including the refusals that name their limit and a compile error with
// its line number.
func TestSieveCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "barid.toml")
	if err := os.WriteFile(cfg, []byte("[sieve]\nmax_scripts = 2\nmax_script_size = 100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "dora"); code != 0 {
		t.Fatalf("user add: %q", errs)
	}
	sieve := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, stdin, append([]string{"sieve", args[0], "--data", dir, "--config", cfg}, args[1:]...)...)
	}
	// The capabilities need no data folder; they are what ManageSieve
	// announces.
	if code, out, errs := runCLI(t, "", "sieve", "capabilities"); code != 0 ||
		!strings.HasPrefix(out, "SIEVE fileinto ") || !strings.Contains(out, " enotify ") ||
		!strings.Contains(out, " ihave ") || !strings.Contains(out, " replace enclose\n") || !strings.HasSuffix(out, "\nNOTIFY mailto\n") {
		t.Fatalf("capabilities: %d %q %q", code, out, errs)
	}
	script := "require \"fileinto\";\nfileinto \"Lists\";\n"
	if code, out, errs := sieve(script, "put", "dora", "lists"); code != 0 || !strings.Contains(out, `stored script "lists"`) {
		t.Fatalf("put: %d %q %q", code, out, errs)
	}
	if code, _, errs := sieve("keep;\nfrobnicate;\n", "put", "dora", "bad"); code != 1 || !strings.Contains(errs, "line 2: error:") {
		t.Fatalf("put of a bad script: %d %q", code, errs)
	}
	if code, _, errs := sieve(strings.Repeat("#", 101), "put", "dora", "big"); code != 1 || !strings.Contains(errs, "sieve.max_script_size") {
		t.Fatalf("put of a big script: %d %q", code, errs)
	}
	sieve("keep;", "put", "dora", "second")
	if code, _, errs := sieve("keep;", "put", "dora", "third"); code != 1 || !strings.Contains(errs, "sieve.max_scripts") {
		t.Fatalf("third script: %d %q", code, errs)
	}
	if code, out, _ := sieve("", "list", "dora"); code != 0 || out != "lists\nsecond\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, errs := sieve("", "activate", "dora", "lists"); code != 0 {
		t.Fatalf("activate: %q", errs)
	}
	if _, out, _ := sieve("", "list", "dora"); out != "lists ACTIVE\nsecond\n" {
		t.Fatalf("list after activate: %q", out)
	}
	if code, out, _ := sieve("", "get", "dora", "lists"); code != 0 || out != script {
		t.Fatalf("get: %d %q", code, out)
	}
	if code, _, errs := sieve("", "del", "dora", "lists"); code != 1 || !strings.Contains(errs, "active") {
		t.Fatalf("del active: %d %q", code, errs)
	}
	if code, _, errs := sieve("", "deactivate", "dora"); code != 0 {
		t.Fatalf("deactivate: %q", errs)
	}
	if code, _, errs := sieve("", "del", "dora", "lists"); code != 0 {
		t.Fatalf("del: %q", errs)
	}
	if code, _, errs := sieve("", "get", "dora", "lists"); code != 1 || !strings.Contains(errs, "no such script") {
		t.Fatalf("get deleted: %d %q", code, errs)
	}
	if code, out, _ := sieve("require \"vacation\";\nvacation \"away\";\n", "check", "dora"); code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("check: %d %q", code, out)
	}
	if code, _, errs := sieve("if true {\n", "check", "dora"); code != 1 || !strings.Contains(errs, "line ") {
		t.Fatalf("check bad: %d %q", code, errs)
	}
	if code, _, errs := sieve("", "list", "nobody"); code != 1 || !strings.Contains(errs, "no account") {
		t.Fatalf("unknown user: %d %q", code, errs)
	}
	if code, _, _ := sieve("", "get", "dora"); code != 2 {
		t.Fatalf("get without NAME: %d", code)
	}
}

// TestDeliverRunsSieve: "barid deliver", writing directly (no server)
// and through a running server, runs the active script like LMTP: fileinto with flags, and ereject as
// exit 69 (EX_UNAVAILABLE) so the MTA bounces.
func TestDeliverRunsSieve(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := runCLI(t, "pw\n", "user", "add", "--data", dir, "erin"); code != 0 {
		t.Fatalf("user add: %q", errs)
	}
	script := "require [\"fileinto\", \"imap4flags\", \"ereject\", \"mailbox\"];\n" +
		"if header :contains \"subject\" \"spam\" { ereject \"go away\"; stop; }\n" +
		"fileinto :create :flags \"\\\\Flagged\" \"Filtered\";\n"
	if code, _, errs := runCLI(t, script, "sieve", "put", "--data", dir, "erin", "f"); code != 0 {
		t.Fatalf("put: %q", errs)
	}
	if code, _, errs := runCLI(t, "", "sieve", "activate", "--data", dir, "erin", "f"); code != 0 {
		t.Fatalf("activate: %q", errs)
	}
	if code, out := deliverRun(t, "Subject: hello\n\nbody\n", "--data", dir, "--from", "x@example.net", "erin"); code != 0 {
		t.Fatalf("deliver: %d %s", code, out)
	}
	if code, out := deliverRun(t, "Subject: spam\n\nbody\n", "--data", dir, "--from", "x@example.net", "erin"); code != 69 || !strings.Contains(out, "5.7.1") {
		t.Fatalf("ereject: %d %s", code, out)
	}
	// The same through a running server (the hand-off socket).
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.IMAP.Listen, cfg.IMAP.ListenTLS, cfg.LMTP.Listen = "", "", ""
	actx, cancel := context.WithCancel(context.Background())
	a, err := app.New(actx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	if code, out := deliverRun(t, "Subject: hello again\n\nbody\n", "--data", dir, "--from", "x@example.net", "erin"); code != 0 {
		t.Fatalf("deliver via the server: %d %s", code, out)
	}
	if code, out := deliverRun(t, "Subject: spam again\n\nbody\n", "--data", dir, "--from", "x@example.net", "erin"); code != 69 || !strings.Contains(out, "5.7.1") {
		t.Fatalf("ereject via the server: %d %s", code, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d, err := app.OpenData(context.Background(), &cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	acct, _ := d.Store.Account(ctx, "erin")
	for name, want := range map[string]int{"Filtered": 2, "INBOX": 0} {
		mb, err := d.Store.Mailbox(ctx, acct.ID, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st, _ := d.Store.MailboxStatus(ctx, mb.ID)
		if int(st.Messages) != want {
			t.Fatalf("%s has %d messages, want %d", name, st.Messages, want)
		}
		if name == "Filtered" {
			_, uids, _ := d.Store.MessageUIDs(ctx, mb.ID)
			d.Store.FetchMessages(ctx, mb.ID, uids, store.FieldFlags, func(m *store.Message) error {
				if !m.Flags.Has(`\Flagged`) {
					t.Errorf("flags %v", m.Flags.Names())
				}
				return nil
			})
		}
	}
}

// --managesieve overrides [managesieve] listen; "off" disables.
func TestManageSieveFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"--managesieve", "127.0.0.1:4190"}, "127.0.0.1:4190"},
		{[]string{"--managesieve", "off"}, ""},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var f serveFlags
		f.register(fs)
		if err := fs.Parse(append([]string{"--data", t.TempDir()}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ManageSieve.Listen != tc.want {
			t.Errorf("%v: %q", tc.args, cfg.ManageSieve.Listen)
		}
	}
}
