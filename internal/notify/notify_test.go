package notify

import (
	"sync/atomic"
	"testing"

	"barid/internal/store"
)

func TestPublishReachesOnlyTheAccount(t *testing.T) {
	b := New()
	a1, a2 := b.Subscribe(1), b.Subscribe(2)
	b.Publish([]store.Change{{Kind: store.ChangeAdded, AccountID: 1, MailboxID: 10, UID: 1}, {Kind: store.ChangeAdded, AccountID: 2, MailboxID: 20, UID: 1}})
	if got := a1.Drain(); len(got) != 1 || got[0].AccountID != 1 {
		t.Fatalf("account 1 got %v", got)
	}
	if got := a2.Drain(); len(got) != 1 || got[0].AccountID != 2 {
		t.Fatalf("account 2 got %v", got)
	}
	select {
	case <-a1.Wake():
	default:
		t.Fatal("no wake-up")
	}
}

func TestFilterKeepsOneMailbox(t *testing.T) {
	b := New()
	s := b.Subscribe(1)
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 10}, {AccountID: 1, MailboxID: 11}})
	s.Filter(11)
	if got := s.Drain(); len(got) != 1 || got[0].MailboxID != 11 {
		t.Fatalf("after Filter(11): %v", got)
	}
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 10}, {AccountID: 1, MailboxID: 11, UID: 7}})
	if got := s.Drain(); len(got) != 1 || got[0].UID != 7 {
		t.Fatalf("filtered publish: %v", got)
	}
	s.Filter(0)
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 11}})
	if s.Pending() {
		t.Fatal("Filter(0) still queues")
	}
}

func TestNotifyAndClose(t *testing.T) {
	b := New()
	s := b.Subscribe(1)
	var calls atomic.Int32
	s.SetNotify(func() { calls.Add(1) })
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 1}})
	if calls.Load() != 1 || !s.Pending() {
		t.Fatalf("notify calls %d pending %v", calls.Load(), s.Pending())
	}
	s.Close()
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 1}})
	if calls.Load() != 1 || s.Pending() {
		t.Fatal("a closed subscription still receives")
	}
	if len(b.subs) != 0 {
		t.Fatal("closed subscription not removed from the bus")
	}
}

func TestEverythingOverridesFilter(t *testing.T) {
	b := New()
	s := b.Subscribe(1)
	s.Filter(11)
	s.Everything(true)
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 10}, {AccountID: 1, MailboxID: 11}, {AccountID: 1, Kind: store.ChangeSubscribed}})
	if got := s.Drain(); len(got) != 3 {
		t.Fatalf("Everything: got %v", got)
	}
	// Filter while Everything is on records the mailbox, drops nothing.
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 10}, {AccountID: 1, MailboxID: 12}})
	s.Filter(12)
	if got := s.Drain(); len(got) != 2 {
		t.Fatalf("Filter under Everything dropped changes: %v", got)
	}
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 10}, {AccountID: 1, MailboxID: 12, UID: 3}})
	s.Everything(false)
	if got := s.Drain(); len(got) != 1 || got[0].UID != 3 {
		t.Fatalf("after Everything(false) the filter should apply to the queue: %v", got)
	}
	b.Publish([]store.Change{{AccountID: 1, MailboxID: 10}})
	if s.Pending() {
		t.Fatal("Everything(false) still queues other mailboxes")
	}
}
