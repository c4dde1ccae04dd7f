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

// TestACLReachesEverySubscription: an ACL change goes to every
// subscription once, whatever account or filter, since whose rights it
// changes is for each session to work out.
func TestACLReachesEverySubscription(t *testing.T) {
	b := New()
	owner, other, sharer := b.Subscribe(1), b.Subscribe(2), b.Subscribe(3)
	other.Filter(0)
	sharer.Filter(10)
	sharer.Watch(1) // registered under account 1 too: still one copy
	b.Publish([]store.Change{{Kind: store.ChangeFlags, AccountID: 1, MailboxID: 11}, {Kind: store.ChangeACL, AccountID: 1, MailboxID: 10}})
	for name, s := range map[string]*Subscription{"owner": owner, "other": other, "sharer": sharer} {
		n := 0
		for _, c := range s.Drain() {
			if c.Kind == store.ChangeACL {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s got %d ACL changes, want 1", name, n)
		}
	}
	sharer.Close()
	b.Publish([]store.Change{{Kind: store.ChangeACL, AccountID: 1, MailboxID: 10}})
	if sharer.Pending() {
		t.Fatal("a closed subscription queued an ACL change")
	}
}

// TestWatchShared: a NOTIFY session watching another account's shared
// mailboxes hears changes to those mailboxes only, and only while
// Everything is on; dropping the set unregisters the account.
func TestWatchShared(t *testing.T) {
	b := New()
	s := b.Subscribe(2)
	s.Filter(0)
	s.Everything(true)
	s.WatchShared(map[int64][]int64{1: {10}, 2: {99}})
	if !b.Watched(1) {
		t.Fatal("account 1 not watched")
	}
	b.Publish([]store.Change{{Kind: store.ChangeAdded, AccountID: 1, MailboxID: 10, UID: 1}, {Kind: store.ChangeAdded, AccountID: 1, MailboxID: 11, UID: 1}})
	if got := s.Drain(); len(got) != 1 || got[0].MailboxID != 10 {
		t.Fatalf("watched shared mailbox: %v", got)
	}
	s.Everything(false)
	b.Publish([]store.Change{{Kind: store.ChangeAdded, AccountID: 1, MailboxID: 10, UID: 2}})
	if got := s.Drain(); len(got) != 0 {
		t.Fatalf("with Everything off: %v", got)
	}
	s.Watch(1) // selecting a mailbox of account 1 as well
	s.WatchShared(nil)
	if !b.Watched(1) {
		t.Fatal("account 1 dropped while the selected mailbox still needs it")
	}
	s.Watch(0)
	if b.Watched(1) {
		t.Fatal("account 1 still watched")
	}
}
