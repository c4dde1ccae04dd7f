package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"barid/internal/admin"
	"barid/internal/imex"
	"barid/internal/store"
)

// importOp runs "barid import" inside the server (the control socket's
// import op): on the server's open store, through its deliverer, with
// every commit published on its change bus, so that sessions see the
// mail arrive as LMTP deliveries do (IDLE, NOTIFY, the next NOOP), and
// the store keeps its one writer. The server's user reads the source,
// so its path must be absolute and readable by that user.
func (a *App) importOp(ctx context.Context, req admin.Request, progress io.Writer) ([]*imex.Result, error) {
	if !filepath.IsAbs(req.Path) {
		return nil, fmt.Errorf("import: the path must be absolute (the server reads it): %q", req.Path)
	}
	acct, err := a.data.Store.Account(ctx, store.NormalizeAccountName(req.User))
	if err != nil {
		if errors.Is(err, store.ErrNoAccount) {
			return nil, fmt.Errorf("no account %q (create it first: barid user add)", store.NormalizeAccountName(req.User))
		}
		return nil, err
	}
	prog := imex.NewProgress(progress, "import", false)
	defer prog.Stop()
	im := &imex.Importer{Store: a.data.Store, Deliver: a.deliv, Account: acct, Logger: a.log,
		Progress: prog, MaxSize: a.cfg.Limits.LiteralSize, Publish: a.bus.Publish,
		UIDValidityChanged: func(mb *store.Mailbox) {
			// RFC 9051 §2.3.1.1: a UIDVALIDITY does not change under
			// a session. The mailbox was empty: nothing is lost.
			n := a.Kick(acct.Name, fmt.Sprintf("mailbox %s is being imported with its former UIDVALIDITY; please reconnect", mb.Name))
			a.log.Info("import: a mailbox took the source's UIDVALIDITY; the account's sessions were ended",
				"user", acct.Name, "mailbox", mb.Name, "uidvalidity", mb.UIDValidity, "sessions", n)
		}}
	switch req.Kind {
	case "maildir":
		return imex.ImportMaildir(ctx, im, req.Path)
	case "mbox":
		r, err := imex.ImportMbox(ctx, im, req.Path, req.Mailbox)
		var out []*imex.Result
		if r != nil {
			out = append(out, r)
		}
		return out, err
	}
	return nil, fmt.Errorf("import: unknown kind %q (maildir or mbox)", req.Kind)
}
