package pop3

import (
	"slices"
	"sync"
	"time"
)

// What the operator's tools see of POP3 sessions ("barid who", "barid
// kick"; internal/admin).

// SessionInfo describes one POP3 connection.
type SessionInfo struct {
	ID     uint64
	User   string // "" before login
	Remote string
	TLS    bool
	Since  time.Time
}

// adminInfo is what another goroutine may read of a connection.
type adminInfo struct {
	mu      sync.Mutex
	since   time.Time
	remote  string // set once at accept: c.nc changes under STLS
	tls     bool   // as of login (or accept)
	user    string
	kickMsg string
}

func (c *conn) noteLogin(user string) {
	c.admin.mu.Lock()
	c.admin.user, c.admin.tls = user, c.tls
	c.admin.mu.Unlock()
}

// byeText is the -ERR line a connection ends with when the server
// shuts it down, or the administrator's after Kick.
func (c *conn) byeText() string {
	c.admin.mu.Lock()
	defer c.admin.mu.Unlock()
	if c.admin.kickMsg != "" {
		return "-ERR [SYS/TEMP] " + c.admin.kickMsg
	}
	return "-ERR [SYS/TEMP] Server shutting down."
}

func (s *Server) connList() []*conn { return s.net.Conns() }

// SessionList lists the open connections by id.
func (s *Server) SessionList() []SessionInfo {
	var out []SessionInfo
	for _, c := range s.connList() {
		c.admin.mu.Lock()
		out = append(out, SessionInfo{ID: c.id, User: c.admin.user, Remote: c.admin.remote, TLS: c.admin.tls, Since: c.admin.since})
		c.admin.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return int(a.ID) - int(b.ID) })
	return out
}

// Kick ends every session logged in as user: waiting ones get "-ERR
// [SYS/TEMP] text" at once, one running a command when it completes. A
// session kicked this way does not enter the UPDATE state: nothing is
// deleted (RFC 1939 §6). It returns the number of sessions told.
func (s *Server) Kick(user, text string) int {
	if text == "" {
		text = "Disconnected by the administrator"
	}
	n := 0
	for _, c := range s.connList() {
		c.admin.mu.Lock()
		match := c.admin.user != "" && c.admin.user == user
		if match {
			c.admin.kickMsg = text
		}
		c.admin.mu.Unlock()
		if match {
			c.shutdown()
			n++
		}
	}
	return n
}
