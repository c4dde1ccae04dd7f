package lmtp

import (
	"errors"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/metrics"
)

// Observation: metrics (Config.Metrics, nil when off) and the debug log
// line of each transaction command (Config.LogCommands). go-smtp
// answers LHLO, RSET, NOOP and QUIT itself; MAIL, RCPT and DATA (or
// BDAT) reach the session and are counted, DATA's duration being the
// whole delivery (spool, parse, commit with fsync).

// Metrics states of an LMTP connection: between transactions, or in
// one (MAIL to the end of DATA or RSET).
const (
	mIdle = iota
	mTransaction
)

var lmtpStates = []string{"idle", "transaction"}

var lmtpCommands = []string{"MAIL", "RCPT", "DATA"}

// smtpResult is the metrics result of a session method's error.
func smtpResult(err error) (metrics.Result, string) {
	if err == nil {
		return metrics.OK, "OK"
	}
	code := 451
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		code = se.Code
	}
	r := metrics.SMTPResult(code)
	return r, r.String()
}

// done records one command of this session.
func (s *session) done(name string, r metrics.Result, start time.Time) {
	d := time.Since(start)
	s.srv.metrics.Command(name).Done(r, d)
	if s.srv.cfg.LogCommands {
		s.log.Debug("command", "command", name, "result", r.String(), "duration", d)
	}
}

// setState moves the connection on the gauges (nil tc: not accepted by
// Serve, nothing to move).
func (s *session) setState(i int) {
	if s.tc != nil {
		s.tc.mconn.Set(i)
	}
}
