package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"

	"barid/internal/auth"
)

type oneUser struct{ secret []byte }

func (u oneUser) Secret(_ context.Context, name string) (int64, []byte, error) {
	if name != "user" {
		return 0, nil, auth.ErrUnknownUser
	}
	return 1, u.secret, nil
}

// Example shows how an IMAP server drives AUTHENTICATE (RFC 9051 §6.2.2,
// SASL-IR RFC 4959) with a Mechanism: each challenge goes out as
// "+ <base64>", each client line is base64-decoded ("*" cancels, which
// the server handles without calling Next), and done means tagged OK.
func Example() {
	p := auth.Params{ArgonTime: 1, ArgonMemory: 64, ArgonThreads: 1, SCRAMIterations: 4096}
	secret, _ := auth.NewSecret("pencil", p)
	cfg := auth.DefaultConfig()
	cfg.Params = p
	a := auth.New(oneUser{secret}, cfg, nil)

	// C: A1 AUTHENTICATE PLAIN AHVzZXIAcGVuY2ls
	ir, _ := base64.StdEncoding.DecodeString("AHVzZXIAcGVuY2ls")
	m, err := a.Start(context.Background(), "PLAIN", netip.MustParseAddr("192.0.2.1"), nil)
	if err != nil {
		fmt.Println("A1 NO", err)
		return
	}
	resp := ir
	for {
		ch, done, err := m.Next(resp)
		switch {
		case errors.Is(err, auth.ErrMalformed):
			fmt.Println("A1 BAD [CLIENTBUG] invalid SASL response")
			return
		case err != nil:
			fmt.Println("A1 NO [AUTHENTICATIONFAILED] Authentication failed")
			return
		case done:
			fmt.Printf("A1 OK logged in as %s (account %d)\n", m.Username(), m.AccountID())
			return
		}
		fmt.Println("+ " + base64.StdEncoding.EncodeToString(ch))
		resp = nil // the next client line, decoded, goes here
	}
	// Output: A1 OK logged in as user (account 1)
}
