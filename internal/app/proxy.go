package app

import (
	"net"

	"barid/internal/proxylisten"
)

// listenTCP binds a protocol listener (IMAP, POP3, LMTP, submission).
// With [proxy] trusted set, connections from those balancers carry a
// PROXY protocol header whose client address the servers see as the
// peer (internal/proxylisten). The metrics and pprof listeners are not
// protocol listeners and bind with net.Listen directly.
func (a *App) listenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	trusted, _ := a.cfg.ProxyPrefixes() // validated with the config
	return proxylisten.Wrap(ln, proxylisten.Config{
		Trusted:       trusted,
		HeaderTimeout: a.cfg.Proxy.HeaderTimeout.Duration,
		Log:           a.log,
	}), nil
}
