package auth

import (
	"context"
	"testing"

	"github.com/xdg-go/scram"
)

// BenchmarkVerifyDefault is one PLAIN/LOGIN check at DefaultParams
// (argon2id t=2, m=19 MiB, p=1): the server's cost per password login.
func BenchmarkVerifyDefault(b *testing.B) {
	s, err := NewSecret("pencil", DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := VerifyPassword(s, "pencil"); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkNewSecretDefault: argon2id plus two PBKDF2 runs of 15000
// iterations (user creation and password change only).
func BenchmarkNewSecretDefault(b *testing.B) {
	for b.Loop() {
		if _, err := NewSecret("pencil", DefaultParams()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSCRAMServer is the server's share of one SCRAM-SHA-256
// exchange (the client's PBKDF2 is cached by the xdg-go client after
// the first round, so this is dominated by the server side).
func BenchmarkSCRAMServer(b *testing.B) {
	a, _, _ := newTestAuth(b, nil)
	c, _ := scram.SHA256.NewClient("user", "pencil", "")
	for b.Loop() {
		conv := c.NewConversation()
		m, _ := a.Start(context.Background(), "SCRAM-SHA-256", testRemote, nil)
		r, _ := conv.Step("")
		for {
			ch, done, err := m.Next([]byte(r))
			if err != nil {
				b.Fatal(err)
			}
			if done {
				break
			}
			r, _ = conv.Step(string(ch))
		}
	}
}
