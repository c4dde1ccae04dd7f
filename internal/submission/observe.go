package submission

import (
	"errors"
	"io"
	"time"

	"github.com/emersion/go-smtp"

	"barid/internal/metrics"
)

// Observation: metrics (Config.Metrics, nil when off) and the debug log
// line of each transaction command (Config.LogCommands), as LMTP does.
// go-smtp answers EHLO, RSET, NOOP, STARTTLS and QUIT itself; MAIL,
// RCPT and DATA (BDAT and BURL included) reach the session and are
// counted here, DATA's duration including the relay's answer.
// Authentication attempts are counted by mechanism.

// Metrics states of a submission connection.
const (
	mUnauthenticated = iota
	mAuthenticated
)

var submissionStates = []string{"unauthenticated", "authenticated"}

var submissionCommands = []string{"MAIL", "RCPT", "DATA"}

// done records one command: its result from the error the session
// method returns.
func (s *session) done(name string, err error, start time.Time) {
	d := time.Since(start)
	r := metrics.OK
	if err != nil {
		code := 451
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			code = se.Code
		}
		r = metrics.SMTPResult(code)
	}
	s.srv.metrics.Command(name).Done(r, d)
	if s.srv.cfg.LogCommands {
		s.log.Debug("command", "command", name, "result", r.String(), "duration", d)
	}
}

// Mail is MAIL FROM (RFC 5321 §4.1.1.2), counted.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	start := time.Now()
	err := s.mail(from, opts)
	s.done("MAIL", err, start)
	return err
}

// Rcpt is RCPT TO (RFC 5321 §4.1.1.3), counted.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	start := time.Now()
	err := s.rcpt(to, opts)
	s.done("RCPT", err, start)
	return err
}

// Data is DATA, BDAT or BURL's message (RFC 5321 §4.1.1.4, RFC 3030,
// RFC 4468), counted.
func (s *session) Data(r io.Reader) error {
	start := time.Now()
	err := s.data(r)
	s.done("DATA", err, start)
	return err
}
