package app

import (
	"context"
	"sync"
	"sync/atomic"

	"barid/internal/fts"
	"barid/internal/store"
)

// runTextIndexer keeps the full-text index of SEARCH BODY/TEXT up to
// date in the background (docs/search.md): it indexes what deliveries
// and copies left pending, and, after an upgrade, the whole data folder,
// without blocking the server (pending messages are scanned meanwhile).
// It stops with ctx or when the returned function is called.
func (a *App) runTextIndexer(ctx context.Context, wg *sync.WaitGroup) (stop func()) {
	st, ok := a.data.Store.(fts.Store)
	if !ok {
		return func() {}
	}
	ctx, stop = context.WithCancel(ctx)
	ix := fts.New(st, a.data.Blobs, a.log.With("service", "fts"))
	ix.Duty = a.cfg.Storage.FTSIndexDuty
	ix.BusyDuty = a.cfg.Storage.FTSIndexBusyDuty
	ix.Lease = a.cfg.Storage.FTSIndexLease.Duration
	// Busy: a message came in (APPEND, LMTP, deliver) since the last
	// look.
	var seen atomic.Int64
	ix.Busy = func() bool { n := a.deliv.Prepared(); return seen.Swap(n) != n }
	wg.Go(func() { ix.Run(store.WithBulk(ctx), a.cfg.Storage.FTSIndexInterval.Duration) })
	return stop
}
