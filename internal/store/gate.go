package store

import (
	"context"
	"sync"
)

// A Gate holds a session's output until what it shows is durable.
//
// A store whose commits become visible before they are durable (the
// SQLite store with its WAL syncer) normally makes each read that
// returns UIDs, MODSEQs or counts wait until the commits it saw are
// durable, and answers a durable write only after its sync. A session
// that carries a Gate in the context of its store calls (WithGate)
// waits once instead, before it writes to its client: such a read
// returns at once and records in the Gate the commit it must wait for;
// such a write returns at COMMIT and records its own. The session runs
// the commands its client pipelined meanwhile, and Wait, called before
// any byte goes to the client, waits for one sync that covers them all
// (docs/benchmarks.md, "Session 8"). Nothing a client is told was
// undurable when it was told: the rule stays the store's, only where the
// wait happens moves.
//
// A backend that makes its commits durable before they are visible
// (PostgreSQL, SQLite without the syncer) never calls Need: its Gate
// stays open.
type Gate struct {
	mu  sync.Mutex
	d   Durability
	seq uint64
}

// Durability is a store's sequence of commits, as a Gate waits on it.
type Durability interface {
	// Durable reports whether every commit up to seq is durable.
	Durable(seq uint64) bool
	// WaitDurable returns when every commit up to seq is durable, or
	// with the error of the sync that failed to make seq durable.
	WaitDurable(seq uint64) error
}

// Need records that the output must wait until commit seq of d is
// durable. One Gate serves one store: a later call keeps the highest
// sequence.
func (g *Gate) Need(d Durability, seq uint64) {
	g.mu.Lock()
	if seq > g.seq || g.d == nil {
		g.d = d
		g.seq = max(g.seq, seq)
	}
	g.mu.Unlock()
}

// Pending reports whether Wait would wait.
func (g *Gate) Pending() bool {
	g.mu.Lock()
	d, seq := g.d, g.seq
	g.mu.Unlock()
	return d != nil && !d.Durable(seq)
}

// Wait returns when everything recorded with Need is durable, or with
// the error of the sync that failed: the output must then not be sent.
func (g *Gate) Wait() error {
	g.mu.Lock()
	d, seq := g.d, g.seq
	g.mu.Unlock()
	if d == nil {
		return nil
	}
	if err := d.WaitDurable(seq); err != nil {
		return err
	}
	g.mu.Lock()
	if g.seq == seq {
		g.d, g.seq = nil, 0
	}
	g.mu.Unlock()
	return nil
}

type gateKey struct{}

// WithGate returns ctx carrying g: store calls made with it defer their
// waits for durability to g.
func WithGate(ctx context.Context, g *Gate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// GateFrom returns the Gate ctx carries, or nil.
func GateFrom(ctx context.Context) *Gate {
	g, _ := ctx.Value(gateKey{}).(*Gate)
	return g
}
