package pop3

import (
	"strings"
	"time"

	"barid/internal/metrics"
)

// Observation: metrics (Config.Metrics, nil when off) and the debug log
// line of each command (Config.LogCommands), as the IMAP server does.

// Metrics states of a POP3 connection (RFC 1939 §3), the "state" label
// of barid_connections.
const (
	mAuthorization = iota
	mTransaction
)

var pop3States = []string{"authorization", "transaction"}

func newMetrics(m *metrics.Metrics) *metrics.Protocol {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	return m.Protocol(metrics.POP3, pop3States, names)
}

// noteReply keeps the status of the first +OK or -ERR line a command
// writes (SASL challenges, "+ ...", and the lines of a multi-line
// answer do not count).
func (c *conn) noteReply(line string) {
	if c.result != "" {
		return
	}
	switch {
	case strings.HasPrefix(line, "+OK"):
		c.result = "OK"
	case strings.HasPrefix(line, "-ERR"):
		c.result = "NO"
	}
}

// commandDone records one command: name is "" for a line that did not
// parse or named no command (counted as "unknown", result BAD).
func (c *conn) commandDone(name string, start time.Time) {
	res := c.result
	c.result = ""
	if name == "" || commands[name] == nil {
		name, res = metrics.Unknown, "BAD"
	}
	if res == "" || !c.srv.observing {
		return // the connection ended without an answer, or nobody watches
	}
	d := time.Since(start)
	if p := c.srv.metrics; p != nil {
		r := metrics.NO
		switch res {
		case "OK":
			r = metrics.OK
		case "BAD":
			r = metrics.BAD
		}
		p.Command(name).Done(r, d)
		if c.state == stateTransaction {
			c.mconn.Set(mTransaction)
		}
	}
	if c.srv.cfg.LogCommands {
		c.log.Debug("command", "command", name, "result", res, "duration", d)
	}
}

// authDone counts one authentication attempt (mech "password" for
// USER/PASS).
func (c *conn) authDone(mech string, err error) {
	c.srv.metrics.Auth(mech, err)
}
