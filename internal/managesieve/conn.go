package managesieve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"barid/internal/filter"
	"barid/internal/store"
)

// state is the session state (RFC 5804 §1.2: non-authenticated, then
// authenticated; LOGOUT ends either).
type state uint8

const (
	stateNonAuth state = 1 << iota
	stateAuth
)

// conn is one client connection. Only its own goroutine touches it,
// except shutdown.
type conn struct {
	srv      *Server
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	rd       *Reader
	id       uint64
	log      *slog.Logger
	remote   netip.Addr
	loopback bool
	tls      bool

	state       state
	account     *store.Account
	releaseUser func()
	commands    int // before login, counted for commands_before_login

	mu       sync.Mutex
	busy     bool
	stopping bool
}

// errLogout ends the session after the reply is written.
var errLogout = errors.New("logout")

func (c *conn) ctx() context.Context { return c.srv.ctx }

func (c *conn) serve() {
	defer c.close()
	defer func() {
		// The connection boundary: a panic ends this session only.
		if r := recover(); r != nil {
			c.log.Error("managesieve: panic", "panic", r)
		}
	}()
	release, err := c.srv.cfg.Auth.AcquireConn(c.remote)
	if err != nil {
		c.bye("", err.Error())
		return
	}
	defer release()
	c.state = stateNonAuth
	c.writeCapabilities()
	c.ok("", "barid ManageSieve ready.")
	if c.flush() != nil {
		return
	}
	for {
		timeout := c.srv.cfg.Limits.LoginTimeout
		if c.state == stateAuth {
			timeout = c.srv.cfg.Limits.Autologout
		}
		c.nc.SetReadDeadline(time.Now().Add(timeout))
		// Shutdown may have come while the last command ran (it then
		// sets no deadline) or just before the line above replaced its
		// deadline: it set stopping first, so looking now catches both.
		c.mu.Lock()
		stopping := c.stopping
		c.mu.Unlock()
		if stopping {
			c.bye("TRYLATER", "Server shutting down.")
			c.flush()
			return
		}
		cmd, err := c.rd.ReadCommand()
		if !c.setBusy(true) {
			c.bye("TRYLATER", "Server shutting down.")
			c.flush()
			return
		}
		if err != nil {
			var se *SyntaxError
			var le *LimitError
			switch {
			case errors.As(err, &se):
				c.no("", se.Msg)
				err = nil
			case errors.As(err, &le) && !le.Fatal:
				code := ""
				if le.Limit != "limits.line_length" {
					code = "QUOTA/MAXSIZE"
				}
				c.no(code, le.Msg)
				err = nil
			case errors.As(err, &le):
				c.bye("", le.Msg)
				c.flush()
				return
			case errors.Is(err, os.ErrDeadlineExceeded):
				c.mu.Lock()
				stopping := c.stopping
				c.mu.Unlock()
				if stopping {
					c.bye("TRYLATER", "Server shutting down.")
				} else {
					c.bye("", "Disconnected for inactivity.")
				}
				c.flush()
				return
			default:
				if err != io.EOF && !errors.Is(err, net.ErrClosed) {
					c.log.Debug("managesieve: read failed", "err", err)
				}
				return
			}
		} else {
			err = c.dispatch(cmd)
		}
		c.setBusy(false)
		if ferr := c.flush(); ferr != nil {
			return
		}
		if err != nil {
			if err != errLogout {
				c.log.Debug("managesieve: session ends", "err", err)
			}
			return
		}
	}
}

// setBusy marks a command in progress; false when the server is
// stopping (the command is not run).
func (c *conn) setBusy(b bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b && c.stopping {
		return false
	}
	c.busy = b
	return true
}

// shutdown ends an idle session with BYE at once; a busy one finishes
// its command first (its read then fails the deadline).
func (c *conn) shutdown() {
	c.mu.Lock()
	c.stopping = true
	busy := c.busy
	c.mu.Unlock()
	if !busy {
		c.nc.SetReadDeadline(time.Now())
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		// The serve loop reads a deadline error and says BYE.
	}
}

func (c *conn) close() {
	if c.releaseUser != nil {
		c.releaseUser()
	}
	c.nc.Close()
}

func (c *conn) flush() error {
	c.nc.SetWriteDeadline(time.Now().Add(time.Minute))
	return c.bw.Flush()
}

func (c *conn) line(s string) {
	c.bw.WriteString(s)
	c.bw.WriteString("\r\n")
}

// respond writes OK, NO or BYE with an optional response code and text
// (RFC 5804 §1.3, §4 response-code, quoted or literal human text).
func (c *conn) respond(kind, code, text string) {
	var sb strings.Builder
	sb.WriteString(kind)
	if code != "" {
		sb.WriteString(" (" + code + ")")
	}
	if text != "" {
		sb.WriteString(" " + Quote(text))
	}
	c.line(sb.String())
}

func (c *conn) ok(code, text string)  { c.respond("OK", code, text) }
func (c *conn) no(code, text string)  { c.respond("NO", code, text) }
func (c *conn) bye(code, text string) { c.respond("BYE", code, text) }

// dispatch runs one command through the table.
func (c *conn) dispatch(cmd *Command) error {
	if c.state == stateNonAuth {
		c.commands++
		if c.commands > c.srv.cfg.Limits.CommandsBeforeLogin {
			c.bye("", "Too many commands before login (limits.commands_before_login)")
			return errLogout
		}
	}
	e, ok := commands[cmd.Name]
	if !ok {
		c.no("", "Unknown command: "+clip(cmd.Name))
		return nil
	}
	if e.states&c.state == 0 {
		if c.state == stateNonAuth {
			c.no("", "Authenticate first.")
		} else {
			c.no("", cmd.Name+" is not allowed after authentication.")
		}
		return nil
	}
	if len(cmd.Args) < e.min || len(cmd.Args) > e.max {
		c.no("", fmt.Sprintf("%s takes %s", cmd.Name, e.usage))
		return nil
	}
	for i, a := range cmd.Args {
		want := ArgString
		if i < len(e.kinds) {
			want = e.kinds[i]
		}
		if a.Kind != want && !(want == 0 && a.Kind != ArgNumber) {
			c.no("", fmt.Sprintf("%s takes %s", cmd.Name, e.usage))
			return nil
		}
	}
	return e.fn(c, cmd)
}

// scriptError answers a failed script command (RFC 5804 §1.3 codes).
func (c *conn) scriptError(err error) {
	var qe *filter.QuotaError
	var se *filter.ScriptError
	switch {
	case errors.Is(err, store.ErrNoScript):
		c.no("NONEXISTENT", "There is no script by that name.")
	case errors.Is(err, store.ErrScriptExists):
		c.no("ALREADYEXISTS", "A script by that name already exists.")
	case errors.Is(err, store.ErrScriptActive):
		c.no("ACTIVE", "You may not delete the active script.")
	case errors.Is(err, store.ErrTooManyScripts):
		c.no("QUOTA/MAXSCRIPTS", "Too many scripts (sieve.max_scripts).")
	case errors.As(err, &qe):
		c.no(qe.Code, qe.Msg)
	case errors.As(err, &se):
		c.no("", se.Msg)
	case errors.Is(err, context.Canceled):
		c.no("TRYLATER", "Server shutting down.")
	default:
		c.log.Error("managesieve: script command failed", "err", err)
		c.no("TRYLATER", "Internal error: refer to the server log.")
	}
}
