package app

import (
	"context"
	"sync"

	"barid/internal/store/postgres"
)

// listenChanges starts the cross-node half of the change bus when the
// metadata store is PostgreSQL: other nodes' writes reach this node's
// bus, hence its IDLE, NOTIFY and POP3 sessions (docs/scale-out.md).
// With SQLite there is one node and nothing to listen to.
func (a *App) listenChanges(ctx context.Context, wg *sync.WaitGroup) {
	pg, ok := a.data.Store.(*postgres.Store)
	if !ok {
		return
	}
	// Sessions wait, before each command, for other nodes' changes
	// committed before it (postgres.Store.Barrier).
	a.bus.SetBarrier(pg.Barrier)
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := pg.Listen(ctx, a.bus, postgres.ListenOptions{Poll: a.cfg.Storage.NotifyPoll.Duration, Logger: a.log})
		if err != nil {
			a.log.Error("change bus listener stopped", "err", err)
		}
	}()
}
