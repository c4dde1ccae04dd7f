package app

import (
	"context"
	"os"
	"sync"

	"barid/internal/admin"
	"barid/internal/imap/server"
)

// controlService is the operator's control socket (internal/admin):
// "barid who", "barid kick" and the admin CLI's writes.
type controlService struct {
	ctl  *admin.Control
	ln   listener
	path string
}

// listenControl binds the control socket ([control] socket, mode 0600).
// A failure is logged, not fatal: the CLI then works on the data folder
// directly, and "who" and "kick" report that no server answers.
func (a *App) listenControl() {
	path := a.cfg.ControlSocket()
	if path == "" || a.ctl.ctl != nil {
		return
	}
	ln, err := a.listenUnix(path, 0o600)
	if err != nil {
		a.log.Warn("control socket not available; \"barid who\" and \"barid kick\" will not reach this server", "path", path, "err", err)
		return
	}
	a.ctl = controlService{path: path, ln: listener{ln: ln, name: "control"}, ctl: &admin.Control{
		Svc:      a.AdminService(),
		Sessions: a.Sessions,
		Kick:     a.Kick,
		Import:   a.importOp,
		Log:      a.log,
	}}
}

// AdminService is the admin actions on this server's stores, with the
// changes they make published on its bus.
func (a *App) AdminService() *admin.Service {
	return &admin.Service{Store: a.data.Store, Blobs: a.data.Blobs, Publish: a.bus.Publish, Mailboxes: a.mbox}
}

// Sessions lists the IMAP and POP3 sessions.
func (a *App) Sessions() []server.SessionInfo {
	out := a.imap.Sessions()
	if a.pop3.srv != nil {
		for _, s := range a.pop3.srv.SessionList() {
			out = append(out, server.SessionInfo{ID: s.ID, Protocol: "pop3", User: s.User, Remote: s.Remote, TLS: s.TLS, Since: s.Since})
		}
	}
	return out
}

// Kick ends user's IMAP and POP3 sessions and returns how many.
func (a *App) Kick(user, text string) int {
	n := a.imap.Kick(user, text)
	if a.pop3.srv != nil {
		n += a.pop3.srv.Kick(user, text)
	}
	return n
}

func (a *App) serveControl(ctx context.Context, wg *sync.WaitGroup) {
	if a.ctl.ctl == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.ctl.ctl.Serve(context.WithoutCancel(ctx), a.ctl.ln.ln); err != nil {
			a.log.Error("control socket stopped", "err", err)
		}
	}()
}

func (a *App) shutdownControl() {
	if a.ctl.ctl == nil {
		return
	}
	a.ctl.ctl.Close()
	if err := os.Remove(a.ctl.path); err != nil && !os.IsNotExist(err) {
		a.log.Warn("could not remove socket", "path", a.ctl.path, "err", err)
	}
}

func (a *App) controlAddrs(m map[string]string) {
	if a.ctl.ctl != nil {
		m["control"] = a.ctl.path
	}
}
