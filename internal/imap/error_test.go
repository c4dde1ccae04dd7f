package imap

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{NoError(CodeTryCreate, "Mailbox does not exist"), "NO [TRYCREATE] Mailbox does not exist"},
		{BadError("", "Unknown command"), "BAD Unknown command"},
		{ByeError(CodeUnavailable, "Shutting down"), "BYE [UNAVAILABLE] Shutting down"},
		{&Error{Type: TypeNO, Code: CodeBadCharset, CodeArg: "(UTF-8 US-ASCII)", Text: "charset"}, "NO [BADCHARSET (UTF-8 US-ASCII)] charset"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	var e *Error
	if !errors.As(fmt.Errorf("wrapped: %w", NoError(CodeOverQuota, "full")), &e) || e.Code != CodeOverQuota {
		t.Error("errors.As failed")
	}
}

func TestCanonicalFlag(t *testing.T) {
	for in, want := range map[string]string{`\SEEN`: FlagSeen, `\deleted`: FlagDeleted, `\*`: FlagWildcard, `$Junk`: `$Junk`, `\Extension`: `\Extension`, `seen`: `seen`} {
		if got := CanonicalFlag(in); got != want {
			t.Errorf("CanonicalFlag(%q) = %q, want %q", in, got, want)
		}
	}
	for s, want := range map[string]bool{"$Forwarded": true, "": false, "a b": false, "a]": false, "x(": false, "ok.k-1": true, "ü": false} {
		if IsKeyword(s) != want {
			t.Errorf("IsKeyword(%q) != %v", s, want)
		}
	}
}
