package lmtp

import (
	"context"
	"errors"

	"github.com/emersion/go-smtp"

	"barid/internal/deliver"
	"barid/internal/store"
)

// Replies. Codes are RFC 5321 §4.2.2; enhanced codes RFC 3463.
var (
	// ErrUnknownUser: RFC 3463 §3.2 X.1.1 "Bad destination mailbox address".
	ErrUnknownUser = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User doesn't exist"}
	// ErrOverQuota: X.2.2 "Mailbox full", permanent.
	ErrOverQuota = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 2, 2}, Message: "Mailbox is over quota"}
	// ErrOverQuotaTemp: the same, temporary (lmtp.quota_tempfail).
	ErrOverQuotaTemp = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox is over quota"}
	// ErrTooBig: X.3.4 "Message too big for system".
	ErrTooBig = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message exceeds limits.literal_size"}
	// ErrLineTooLong: a DATA line over limits.line_length. go-smtp
	// closes the connection after this reply.
	ErrLineTooLong = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message has a line longer than limits.line_length"}
	// ErrTemporary: X.3.0 "Other or undefined mail system status"; the
	// MTA keeps the message and retries.
	ErrTemporary = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary internal error"}
	// ErrShuttingDown: X.3.2 "System not accepting network messages".
	ErrShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Server shutting down"}
)

// Status classifies a delivery error as the reply an MTA should get. It
// returns nil for nil. quotaTempFail selects 452 4.2.2 over 552 5.2.2.
// Anything not known to be permanent is temporary: losing a message to
// a bounce is worse than a retry.
func Status(err error, quotaTempFail bool) *smtp.SMTPError {
	var se *smtp.SMTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	case errors.Is(err, store.ErrNoAccount):
		return ErrUnknownUser
	case errors.Is(err, store.ErrOverQuota):
		if quotaTempFail {
			return ErrOverQuotaTemp
		}
		return ErrOverQuota
	case errors.Is(err, deliver.ErrTooBig):
		return ErrTooBig
	case errors.Is(err, smtp.ErrTooLongLine):
		return ErrLineTooLong
	case errors.Is(err, context.Canceled):
		return ErrShuttingDown
	default:
		return ErrTemporary
	}
}

// ExitCode maps a reply to a sysexits.h status for "barid deliver", as
// an MDA run by Postfix's local(8) or Exim's pipe transport reports it:
// 0 delivered, 67 EX_NOUSER, 75 EX_TEMPFAIL (the MTA retries), 65
// EX_DATAERR for a message the server refuses (too big), 73
// EX_CANTCREAT for a full mailbox, 69 EX_UNAVAILABLE for any other
// permanent refusal.
func ExitCode(se *smtp.SMTPError) int {
	switch {
	case se == nil || se.Code/100 == 2:
		return 0
	case se.Code/100 == 4:
		return 75
	case se.EnhancedCode == smtp.EnhancedCode{5, 1, 1}:
		return 67
	case se.EnhancedCode[1] == 2:
		return 73
	case se.EnhancedCode[1] == 3 && se.EnhancedCode[2] == 4, se.EnhancedCode[1] == 6:
		return 65
	default:
		return 69
	}
}
