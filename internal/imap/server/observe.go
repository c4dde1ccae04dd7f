package server

import (
	"time"

	"barid/internal/metrics"
)

// Observation: metrics (Config.Metrics, nil when off) and the debug log
// line of each command (Config.LogCommands). The per-command cost with
// metrics on is one counter increment and one histogram Observe on
// collectors resolved at startup, plus the gauge moves of a state
// change (login, SELECT), which are rare.

// Metrics states of an IMAP connection (the "state" label of
// barid_connections), in the order of imapStates.
const (
	mNotAuth = iota
	mAuthed
	mSelected
)

var imapStates = []string{"not_authenticated", "authenticated", "selected"}

// CommandNames lists the command table's names (the "command" label
// values of barid_commands_total{protocol="imap"}).
func CommandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	return names
}

// newMetrics returns the IMAP protocol handle of m (nil when m is nil).
func newMetrics(m *metrics.Metrics) *metrics.Protocol {
	return m.Protocol(metrics.IMAP, imapStates, CommandNames())
}

// resultOf maps a tagged status type to a metrics result.
func resultOf(typ string) metrics.Result {
	switch typ {
	case "OK":
		return metrics.OK
	case "NO":
		return metrics.NO
	}
	return metrics.BAD
}

// setResult notes the tagged status of the command being run (every
// tagged status goes through writeStatus or loggedIn).
func (c *Conn) setResult(typ string) {
	c.result = typ
}

// commandDone records one command: its counter and latency (IDLE's
// duration is the client's, so only counted), the debug log line, and
// any state change it made. A command that ended the connection
// without a tagged status is not counted.
func (c *Conn) commandDone(tag, name string, start time.Time) {
	res := c.result
	c.result = ""
	if res != "" && c.srv.observing {
		d := time.Since(start)
		if m := c.srv.metrics; m != nil {
			cm := m.Command(name)
			if name == "IDLE" {
				cm.Count(resultOf(res))
			} else {
				cm.Done(resultOf(res), d)
			}
		}
		if c.srv.cfg.LogCommands {
			c.log.Debug("command", "tag", tag, "command", logCommand(name), "result", res, "duration", d)
		}
	}
	c.syncMetrics()
}

// logCommand bounds a command name for the log as the metrics do.
func logCommand(name string) string {
	if commands[name] == nil {
		return metrics.Unknown
	}
	return name
}

// syncMetrics moves this connection's gauges to its current state:
// session state and NOTIFY on or off (a pusher may turn NOTIFY off on
// overflow between commands; the next command or the end of the
// connection catches up).
func (c *Conn) syncMetrics() {
	if c.srv.metrics == nil {
		return
	}
	switch c.state {
	case StateNotAuthenticated:
		c.mconn.Set(mNotAuth)
	case StateAuthenticated:
		c.mconn.Set(mAuthed)
	case StateSelected:
		c.mconn.Set(mSelected)
	}
	on := c.notify != nil && c.notify.spec != nil
	if on != c.mnotify {
		c.mnotify = on
		if on {
			c.srv.metrics.Notify(1)
		} else {
			c.srv.metrics.Notify(-1)
		}
	}
}

// endMetrics takes the connection off the gauges.
func (c *Conn) endMetrics() {
	if c.mnotify {
		c.mnotify = false
		c.srv.metrics.Notify(-1)
	}
	c.mconn.Close()
}

// authDone counts one authentication attempt (mech "password" for
// LOGIN).
func (c *Conn) authDone(mech string, err error) {
	c.srv.metrics.Auth(mech, err)
}
