package submission_test

import (
	"strings"
	"testing"
	"time"

	"barid/internal/testkit"
)

// Shutdown (barid stopping) closes a connection between transactions
// at once and lets one in the middle of a message finish: its client
// gets the relay's 250, then the connection is closed; nothing new is
// accepted.
func TestShutdownDrains(t *testing.T) {
	sink := testkit.StartSink(t, nil)
	srv := testkit.Start(t, testkit.WithSubmission(sink.Addr))
	srv.AddUser("alice", "wonderland")
	idle := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	idle.AuthPlain("alice", "wonderland")
	busy := testkit.DialSMTP(t, srv.SubmissionAddr, false)
	busy.AuthPlain("alice", "wonderland")
	busy.Expect("MAIL FROM:<alice@localhost>", "250 ")
	busy.Expect("RCPT TO:<bob@example.org>", "250 ")
	busy.Expect("DATA", "354 ")
	busy.Send("From: alice@localhost\r\nSubject: during shutdown\r\n\r\n")

	stopped := make(chan struct{})
	go func() { srv.Stop(); close(stopped) }()
	// The idle connection is closed without a reply.
	idle.NC.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := idle.NC.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("idle connection still open: %d, %v", n, err)
	}
	select {
	case <-stopped:
		t.Fatal("Shutdown ended while a message was in progress")
	case <-time.After(50 * time.Millisecond):
	}
	busy.Send("still here\r\n")
	if r := busy.Cmd("."); !strings.HasPrefix(r[0], "250 2.0.0 Ok: queued as") {
		t.Fatalf("message in progress: %q", r)
	}
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("Shutdown did not end after the transaction")
	}
	if m := sink.WaitMessages(t, 1)[0]; !strings.HasSuffix(string(m.Data), "still here\r\n") {
		t.Errorf("relayed %q", m.Data)
	}
	busy.NC.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := busy.NC.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("busy connection still open after its transaction: %d, %v", n, err)
	}
}
