package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
)

func TestMechanisms(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestAuth(t, nil)
	if got := a.Mechanisms(false); slices.ContainsFunc(got, func(m string) bool { return strings.HasSuffix(m, "-PLUS") }) {
		t.Errorf("-PLUS advertised without TLS: %v", got)
	}
	tlsMechs := a.Mechanisms(true)
	for _, m := range []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN", "LOGIN"} {
		if !slices.Contains(tlsMechs, m) {
			t.Errorf("%s not advertised with TLS: %v", m, tlsMechs)
		}
	}
	// Every advertised mechanism can be started (case-insensitively).
	cb := &ChannelBinding{Type: "tls-exporter", Data: make([]byte, 32)}
	for _, m := range tlsMechs {
		if _, err := a.Start(context.Background(), m, testRemote, cb); err != nil {
			t.Errorf("Start(%s): %v", m, err)
		}
		if _, err := a.Start(context.Background(), strings.ToLower(m), testRemote, cb); err != nil {
			t.Errorf("Start(lower %s): %v", m, err)
		}
	}
	for _, m := range []string{"CRAM-MD5", "XOAUTH2", "", "SCRAM-SHA-512"} {
		if _, err := a.Start(context.Background(), m, testRemote, cb); !errors.Is(err, ErrUnsupportedMechanism) {
			t.Errorf("Start(%q) err = %v", m, err)
		}
	}
	if !IsPlaintext("plain") || !IsPlaintext("LOGIN") || IsPlaintext("SCRAM-SHA-1") {
		t.Error("IsPlaintext wrong")
	}
}

// TestPlainMech follows RFC 4616 §4's examples (authzid empty, equal, or
// another identity) with go-sasl's PLAIN client building the message.
func TestPlainMech(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		ir       bool   // send as initial response
		msg      []byte // raw message; nil: use the client below
		authz    string
		user, pw string
		want     error
		wantID   int64
	}{
		{name: "no authzid, IR", ir: true, user: "user", pw: "pencil", wantID: 7},
		{name: "no authzid, no IR", user: "user", pw: "pencil", wantID: 7},
		{name: "authzid same", ir: true, authz: "USER", user: "user", pw: "pencil", wantID: 7},
		{name: "authzid other", ir: true, authz: "admin", user: "user", pw: "pencil", want: ErrAuthzFailed},
		{name: "authzid other, wrong password", ir: true, authz: "admin", user: "user", pw: "x", want: ErrAuthFailed},
		{name: "wrong password", ir: true, user: "user", pw: "pencil2", want: ErrAuthFailed},
		{name: "unknown user", ir: true, user: "ghost", pw: "pencil", want: ErrAuthFailed},
		{name: "empty password", ir: true, user: "user", pw: "", want: ErrAuthFailed},
		{name: "two fields", ir: true, msg: []byte("user\x00pencil"), want: ErrMalformed},
		{name: "four fields", ir: true, msg: []byte("\x00user\x00pencil\x00"), want: ErrMalformed},
		{name: "empty IR", ir: true, msg: []byte{}, want: ErrMalformed},
		{name: "huge", ir: true, msg: make([]byte, 5000), want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, _, _ := newTestAuth(t, nil)
			msg := tc.msg
			if msg == nil {
				_, msg, _ = sasl.NewPlainClient(tc.authz, tc.user, tc.pw).Start()
			}
			m, err := a.Start(context.Background(), "PLAIN", testRemote, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.ir {
				ch, done, err := m.Next(nil)
				if err != nil || done || ch == nil || len(ch) != 0 {
					t.Fatalf("Next(nil) = %q, %v, %v", ch, done, err)
				}
			}
			ch, done, err := m.Next(msg)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || done {
					t.Fatalf("err = %v, done = %v; want %v", err, done, tc.want)
				}
				if tc.want == ErrAuthFailed && errors.Is(err, ErrAuthzFailed) {
					t.Fatal("authz error for bad credentials")
				}
			} else if err != nil || !done || ch != nil || m.AccountID() != tc.wantID || m.Username() != tc.user {
				t.Fatalf("= %q, %v, %v, id %d, user %q", ch, done, err, m.AccountID(), m.Username())
			}
			if _, _, err := m.Next(msg); !errors.Is(err, ErrMalformed) {
				t.Errorf("Next after end: %v", err)
			}
		})
	}
}

func TestLoginMech(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestAuth(t, nil)
	// Without initial response: Username: / Password: prompts.
	m, _ := a.Start(context.Background(), "LOGIN", testRemote, nil)
	steps := []struct {
		in, out string
		done    bool
	}{{"", "Username:", false}, {"user", "Password:", false}, {"pencil", "", true}}
	for i, s := range steps {
		var in []byte
		if i > 0 {
			in = []byte(s.in)
		}
		ch, done, err := m.Next(in)
		if err != nil || done != s.done || string(ch) != s.out {
			t.Fatalf("step %d: %q, %v, %v", i, ch, done, err)
		}
	}
	if m.AccountID() != 7 || m.Username() != "user" {
		t.Errorf("id %d user %q", m.AccountID(), m.Username())
	}
	if _, _, err := m.Next([]byte("x")); !errors.Is(err, ErrMalformed) {
		t.Errorf("Next after done: %v", err)
	}
	// With the username as initial response; go-sasl's LOGIN client agrees.
	cl := sasl.NewLoginClient("user", "pencil")
	_, ir, _ := cl.Start()
	m, _ = a.Start(context.Background(), "login", testRemote, nil)
	ch, _, err := m.Next(ir)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cl.Next(ch)
	if err != nil {
		t.Fatalf("go-sasl LOGIN client rejects our prompt %q: %v", ch, err)
	}
	if _, done, err := m.Next(resp); !done || err != nil {
		t.Fatalf("LOGIN with IR: %v %v", done, err)
	}
	// Wrong password.
	m, _ = a.Start(context.Background(), "LOGIN", testRemote, nil)
	m.Next([]byte("user"))
	if _, _, err := m.Next([]byte("nope")); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("wrong password: %v", err)
	}
	// Oversized username.
	m, _ = a.Start(context.Background(), "LOGIN", testRemote, nil)
	if _, _, err := m.Next(make([]byte, 300)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge username: %v", err)
	}
}
