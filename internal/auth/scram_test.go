package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"
)

var testRemote = netip.MustParseAddr("192.0.2.1")

// TestSCRAMRFCExamples replays the example exchanges of RFC 5802 §5
// (SCRAM-SHA-1) and RFC 7677 §3 (SCRAM-SHA-256) byte for byte, with the
// RFCs' salt, iteration count and server nonce.
func TestSCRAMRFCExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, mech            string
		h                     scramHash
		salt, snonce          string
		c1, s1, c2, s2, badC2 string
	}{
		{
			name: "RFC 5802 §5", mech: "SCRAM-SHA-1", h: hashSHA1,
			salt: "QSXCR+Q6sek8bf92", snonce: "3rfcNHYJY1ZVvWVs7j",
			c1:    "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			s1:    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			c2:    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			s2:    "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
			badC2: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=w0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		},
		{
			name: "RFC 7677 §3", mech: "SCRAM-SHA-256", h: hashSHA256,
			salt: "W22ZaJ0SNY7soEsUEjb6gQ==", snonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			c1:    "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			s1:    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			c2:    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			s2:    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
			badC2: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, accts, clk := newTestAuth(t, nil)
			salt, _ := b64.DecodeString(tc.salt)
			k, err := deriveSCRAMKeys(tc.h, "pencil", salt, 4096)
			if err != nil {
				t.Fatal(err)
			}
			s := &secret{}
			if tc.h.name == hashSHA1.name {
				s.SHA1 = k
			} else {
				s.SHA256 = k
			}
			accts.set(42, "user", s.encode())
			a.nonce = func() string { return tc.snonce }

			for _, good := range []bool{true, false} {
				m, err := a.Start(context.Background(), tc.mech, testRemote, nil)
				if err != nil {
					t.Fatal(err)
				}
				ch, done, err := m.Next(nil)
				if err != nil || done || len(ch) != 0 || ch == nil {
					t.Fatalf("Next(nil) = %q, %v, %v; want empty challenge", ch, done, err)
				}
				ch, done, err = m.Next([]byte(tc.c1))
				if err != nil || done || string(ch) != tc.s1 {
					t.Fatalf("server-first = %q, %v, %v\nwant %q", ch, done, err, tc.s1)
				}
				if !good {
					_, _, err = m.Next([]byte(tc.badC2))
					var se *SCRAMError
					if !errors.Is(err, ErrAuthFailed) || !errors.As(err, &se) || se.Code != "invalid-proof" {
						t.Fatalf("bad proof: err = %v", err)
					}
					if sl := clk.takeSlept(); len(sl) == 0 {
						t.Error("failed SCRAM login was not delayed")
					}
					continue
				}
				ch, done, err = m.Next([]byte(tc.c2))
				if err != nil || done || string(ch) != tc.s2 {
					t.Fatalf("server-final = %q, %v, %v\nwant %q", ch, done, err, tc.s2)
				}
				ch, done, err = m.Next([]byte{})
				if err != nil || !done || ch != nil {
					t.Fatalf("after empty ack: %q, %v, %v", ch, done, err)
				}
				if m.AccountID() != 42 || m.Username() != "user" {
					t.Errorf("AccountID, Username = %d, %q", m.AccountID(), m.Username())
				}
				if _, _, err := m.Next(nil); !errors.Is(err, ErrMalformed) {
					t.Errorf("Next after done: %v", err)
				}
			}
		})
	}
}

// TestSCRAMKeysMatchXDG checks our StoredKey/ServerKey derivation
// against xdg-go/scram's client-side credential computation.
func TestSCRAMKeysMatchXDG(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		h   scramHash
		gen scram.HashGeneratorFcn
	}{{hashSHA1, scram.SHA1}, {hashSHA256, scram.SHA256}} {
		for _, pw := range []string{"pencil", "I\u00ADX", "pässwörd"} {
			salt := []byte("0123456789abcdef")
			k, err := deriveSCRAMKeys(tc.h, normalizePassword(pw), salt, 4096)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tc.gen.NewClient("user", pw, "")
			if err != nil {
				t.Fatal(err)
			}
			cred, err := c.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: 4096})
			if err != nil {
				t.Fatal(err)
			}
			if string(cred.StoredKey) != string(k.StoredKey) || string(cred.ServerKey) != string(k.ServerKey) {
				t.Errorf("%s %q: keys differ from xdg-go/scram", tc.h.name, pw)
			}
		}
	}
}

// runXDG drives one exchange between our server and the xdg-go/scram
// client, the way an IMAP server would: the client-first message goes
// as SASL-IR, each server challenge is fed to the client, and the
// client's (empty) answer to server-final completes it.
func runXDG(t *testing.T, a *Authenticator, mech string, cb *ChannelBinding, conv *scram.ClientConversation) (Mechanism, error) {
	t.Helper()
	m, err := a.Start(context.Background(), mech, testRemote, cb)
	if err != nil {
		return nil, err
	}
	resp, err := conv.Step("")
	if err != nil {
		t.Fatalf("client-first: %v", err)
	}
	for range 5 {
		ch, done, err := m.Next([]byte(resp))
		if err != nil {
			return m, err
		}
		if done {
			if !conv.Valid() {
				t.Fatal("server reported done but the client did not validate the server")
			}
			return m, nil
		}
		resp, err = conv.Step(string(ch))
		if err != nil {
			t.Fatalf("client rejected server message %q: %v", ch, err)
		}
	}
	t.Fatal("exchange did not finish")
	return nil, nil
}

func TestSCRAMAgainstXDG(t *testing.T) {
	t.Parallel()
	a, accts, clk := newTestAuth(t, nil)
	accts.add(t, 9, "Weird,Na=me", "p\u00E4ss word")
	gens := map[string]scram.HashGeneratorFcn{"SCRAM-SHA-1": scram.SHA1, "SCRAM-SHA-256": scram.SHA256}
	for _, tc := range []struct {
		name, mech, user, pw, authz string
		tls                         bool // server side is TLS (cb non-nil)
		advertise                   bool // client says "y"
		wantErr                     error
		wantCode                    string
		wantID                      int64
	}{
		{name: "sha1", mech: "SCRAM-SHA-1", user: "user", pw: "pencil", wantID: 7},
		{name: "sha256", mech: "SCRAM-SHA-256", user: "user", pw: "pencil", wantID: 7},
		{name: "case-insensitive name", mech: "SCRAM-SHA-256", user: "USER", pw: "pencil", wantID: 7},
		{name: "escaped name, SASLprep password", mech: "SCRAM-SHA-256", user: "Weird,Na=me", pw: "pa\u0308ss\u00A0word", wantID: 9},
		{name: "authzid same", mech: "SCRAM-SHA-256", user: "user", pw: "pencil", authz: "User", wantID: 7},
		{name: "authzid other", mech: "SCRAM-SHA-256", user: "user", pw: "pencil", authz: "admin", wantErr: ErrAuthzFailed},
		{name: "wrong password", mech: "SCRAM-SHA-256", user: "user", pw: "pencil2", wantErr: ErrAuthFailed, wantCode: "invalid-proof"},
		{name: "unknown user", mech: "SCRAM-SHA-1", user: "nobody", pw: "pencil", wantErr: ErrAuthFailed, wantCode: "invalid-proof"},
		{name: "y without TLS ok", mech: "SCRAM-SHA-256", user: "user", pw: "pencil", advertise: true, wantID: 7},
		{name: "y with TLS is downgrade", mech: "SCRAM-SHA-256", user: "user", pw: "pencil", advertise: true, tls: true,
			wantErr: ErrAuthFailed, wantCode: "server-does-support-channel-binding"},
		{name: "n with TLS ok", mech: "SCRAM-SHA-256", user: "user", pw: "pencil", tls: true, wantID: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := gens[tc.mech].NewClient(tc.user, tc.pw, tc.authz)
			if err != nil {
				t.Fatal(err)
			}
			conv := c.NewConversation()
			if tc.advertise {
				conv = c.NewConversationAdvertisingChannelBinding()
			}
			var cb *ChannelBinding
			if tc.tls {
				cb = &ChannelBinding{Type: "tls-exporter", Data: make([]byte, 32)}
			}
			m, err := runXDG(t, a, tc.mech, cb, conv)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				var se *SCRAMError
				if tc.wantCode != "" && (!errors.As(err, &se) || se.Code != tc.wantCode) {
					t.Fatalf("err = %v, want e=%s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.AccountID() != tc.wantID {
				t.Errorf("AccountID = %d, want %d", m.AccountID(), tc.wantID)
			}
		})
	}
	_ = clk
}

// TestSCRAMUnknownUserLooksKnown: server-first for an unknown user has the
// same shape as for a real one and a stable salt, so names can't be
// enumerated; the attempt fails like a wrong password, with the delay.
func TestSCRAMUnknownUserLooksKnown(t *testing.T) {
	t.Parallel()
	a, _, clk := newTestAuth(t, nil)
	first := func(user string) string {
		m, _ := a.Start(context.Background(), "SCRAM-SHA-256", testRemote, nil)
		ch, _, err := m.Next([]byte("n,,n=" + user + ",r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		_, salt, _ := strings.Cut(string(ch), ",s=")
		return salt
	}
	s1, s2 := first("ghost"), first("ghost")
	if s1 != s2 {
		t.Errorf("unknown user's salt changes between attempts: %s vs %s", s1, s2)
	}
	if first("ghost") == first("other-ghost") {
		t.Error("two unknown users share a salt")
	}
	if !strings.HasSuffix(s1, ",i=4096") {
		t.Errorf("unknown user iteration count: %s", s1)
	}
	c, _ := scram.SHA256.NewClient("ghost", "pencil", "")
	_, err := runXDG(t, a, "SCRAM-SHA-256", nil, c.NewConversation())
	if !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v", err)
	}
	if sl := clk.takeSlept(); len(sl) == 0 || sl[len(sl)-1] != time.Second {
		t.Errorf("unknown-user delay = %v, want last sleep 1s", sl)
	}
}

// TestSCRAMNoKeys: an account whose secret has no SCRAM keys (bare PHC
// import, or NoSCRAM) fails SCRAM like a wrong password.
func TestSCRAMNoKeys(t *testing.T) {
	t.Parallel()
	a, accts, _ := newTestAuth(t, nil)
	p := testParams
	p.NoSCRAM = true
	s, _ := NewSecret("pencil", p)
	accts.set(11, "plainonly", s)
	c, _ := scram.SHA256.NewClient("plainonly", "pencil", "")
	if _, err := runXDG(t, a, "SCRAM-SHA-256", nil, c.NewConversation()); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("err = %v", err)
	}
	if id, err := a.Plain(context.Background(), testRemote, "plainonly", "pencil"); err != nil || id != 11 {
		t.Fatalf("Plain = %d, %v", id, err)
	}
}

func TestSCRAMMalformed(t *testing.T) {
	t.Parallel()
	a, _, clk := newTestAuth(t, nil)
	a.nonce = func() string { return "SNONCE" }
	cb := &ChannelBinding{Type: "tls-exporter", Data: []byte("0123456789abcdef0123456789abcdef")}
	for _, tc := range []struct {
		name, mech string
		cb         *ChannelBinding
		c1, c2     string // c2 empty: c1 must fail
		code       string
		want       error
	}{
		{name: "empty", mech: "SCRAM-SHA-256", c1: "", code: "other-error"},
		{name: "no gs2", mech: "SCRAM-SHA-256", c1: "n=user,r=abc", code: "other-error"},
		{name: "bad flag", mech: "SCRAM-SHA-256", c1: "x,,n=user,r=abc", code: "other-error"},
		{name: "mext", mech: "SCRAM-SHA-256", c1: "n,,m=foo,n=user,r=abc", code: "extensions-not-supported"},
		{name: "bad escape", mech: "SCRAM-SHA-256", c1: "n,,n=us=2Xer,r=abc", code: "invalid-username-encoding"},
		{name: "empty user", mech: "SCRAM-SHA-256", c1: "n,,n=,r=abc", code: "invalid-username-encoding"},
		{name: "bad utf8 user", mech: "SCRAM-SHA-256", c1: "n,,n=\xff,r=abc", code: "invalid-username-encoding"},
		{name: "no nonce", mech: "SCRAM-SHA-256", c1: "n,,n=user", code: "other-error"},
		{name: "empty nonce", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=", code: "other-error"},
		{name: "nonce ctl", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=a\x01b", code: "other-error"},
		{name: "bad authz", mech: "SCRAM-SHA-256", c1: "n,x=y,n=user,r=abc", code: "other-error"},
		{name: "bad ext", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=abc,12", code: "other-error"},
		{name: "p on non-PLUS", mech: "SCRAM-SHA-256", cb: cb, c1: "p=tls-exporter,,n=user,r=abc", code: "channel-binding-not-supported"},
		{name: "n on PLUS", mech: "SCRAM-SHA-256-PLUS", cb: cb, c1: "n,,n=user,r=abc", code: "channel-binding-not-supported"},
		{name: "y on PLUS", mech: "SCRAM-SHA-256-PLUS", cb: cb, c1: "y,,n=user,r=abc", code: "other-error"},
		{name: "PLUS wrong type", mech: "SCRAM-SHA-256-PLUS", cb: cb, c1: "p=tls-unique,,n=user,r=abc", code: "unsupported-channel-binding-type"},
		{name: "PLUS bad cb-name", mech: "SCRAM-SHA-256-PLUS", cb: cb, c1: "p=tls_x,,n=user,r=abc", code: "other-error"},
		{name: "final no proof", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=abc", c2: "c=biws,r=abcSNONCE", code: "other-error"},
		{name: "final bad nonce", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=abc",
			c2: "c=biws,r=abcOTHER,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", code: "other-error"},
		{name: "final bad c", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=abc",
			c2: "c=eSws,r=abcSNONCE,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", code: "channel-bindings-dont-match"},
		{name: "final c not b64", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=abc",
			c2: "c=b!ws,r=abcSNONCE,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", code: "invalid-encoding"},
		{name: "final proof short", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=abc",
			c2: "c=biws,r=abcSNONCE,p=dHzb", code: "invalid-encoding"},
		{name: "final order", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=abc",
			c2: "r=abcSNONCE,c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", code: "other-error"},
		{name: "final ext after proof", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=abc",
			c2: "c=biws,r=abcSNONCE,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1", code: "invalid-encoding"},
		{name: "PLUS cb mismatch", mech: "SCRAM-SHA-256-PLUS", cb: cb, c1: "p=tls-exporter,,n=user,r=abc",
			c2:   "c=" + b64.EncodeToString([]byte("p=tls-exporter,,wrongwrongwrongwrongwrongwrongwr")) + ",r=abcSNONCE,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			code: "channel-bindings-dont-match", want: ErrAuthFailed},
		{name: "huge", mech: "SCRAM-SHA-256", c1: "n,,n=user,r=" + strings.Repeat("a", 5000), code: "other-error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := a.Start(context.Background(), tc.mech, testRemote, tc.cb)
			if err != nil {
				t.Fatal(err)
			}
			ch, _, err := m.Next([]byte(tc.c1))
			if tc.c2 != "" {
				if err != nil {
					t.Fatalf("client-first failed: %v", err)
				}
				if !strings.HasPrefix(string(ch), "r=abcSNONCE,") {
					t.Fatalf("server-first %q", ch)
				}
				_, _, err = m.Next([]byte(tc.c2))
			}
			want := tc.want
			if want == nil {
				want = ErrMalformed
			}
			var se *SCRAMError
			if !errors.Is(err, want) || !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("err = %v, want %v with e=%s", err, want, tc.code)
			}
			if _, _, err := m.Next([]byte("n,,n=user,r=abc")); !errors.Is(err, ErrMalformed) {
				t.Errorf("Next after failure: %v", err)
			}
		})
	}
	_ = clk
}

// TestSCRAMAckMustBeEmpty: after server-final the client must answer
// with an empty response (RFC 4422 §4); anything else fails.
func TestSCRAMAckMustBeEmpty(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestAuth(t, nil)
	c, _ := scram.SHA256.NewClient("user", "pencil", "")
	conv := c.NewConversation()
	m, _ := a.Start(context.Background(), "SCRAM-SHA-256", testRemote, nil)
	r, _ := conv.Step("")
	ch, _, err := m.Next([]byte(r))
	if err != nil {
		t.Fatal(err)
	}
	r, _ = conv.Step(string(ch))
	if _, _, err = m.Next([]byte(r)); err != nil {
		t.Fatal(err)
	}
	if _, done, err := m.Next([]byte("x")); done || !errors.Is(err, ErrMalformed) {
		t.Fatalf("non-empty ack: done=%v err=%v", done, err)
	}
}

// tlsPair completes a real TLS handshake over net.Pipe and returns both
// sides' states and the server's leaf certificate.
func tlsPair(t *testing.T, maxVersion uint16) (server, client tls.ConnectionState, leaf *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "barid.test"},
		DNSNames: []string{"barid.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		SignatureAlgorithm: x509.ECDSAWithSHA384,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	srv := tls.Server(c1, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MaxVersion: maxVersion})
	cli := tls.Client(c2, &tls.Config{RootCAs: pool, ServerName: "barid.test", MaxVersion: maxVersion})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return srv.ConnectionState(), cli.ConnectionState(), leaf
}

// TestChannelBindingTLS computes the binding on a real TLS connection on
// both sides — ours on the server, xdg-go/scram's on the client — and
// runs SCRAM-SHA-256-PLUS and SCRAM-SHA-1-PLUS over it.
func TestChannelBindingTLS(t *testing.T) {
	t.Parallel()
	a, _, _ := newTestAuth(t, nil)
	for _, tc := range []struct {
		name     string
		version  uint16
		useLeaf  bool
		wantType string
	}{
		{"TLS 1.3 exporter", tls.VersionTLS13, true, "tls-exporter"},
		{"TLS 1.2 server-end-point", tls.VersionTLS12, true, "tls-server-end-point"},
		{"TLS 1.2 EMS exporter", tls.VersionTLS12, false, "tls-exporter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, cs, leaf := tlsPair(t, tc.version)
			if !tc.useLeaf {
				leaf = nil
			}
			cb := ChannelBindingFromTLS(&ss, leaf)
			if cb == nil || cb.Type != tc.wantType {
				t.Fatalf("binding = %+v, want type %s", cb, tc.wantType)
			}
			var ccb scram.ChannelBinding
			var err error
			if tc.wantType == "tls-exporter" {
				ccb, err = scram.NewTLSExporterBinding(&cs)
			} else {
				ccb, err = scram.NewTLSServerEndpointBinding(&cs)
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(ccb.Type) != cb.Type || string(ccb.Data) != string(cb.Data) {
				t.Fatalf("server binding %x differs from client's %x", cb.Data, ccb.Data)
			}
			for mech, gen := range map[string]scram.HashGeneratorFcn{"SCRAM-SHA-256-PLUS": scram.SHA256, "SCRAM-SHA-1-PLUS": scram.SHA1} {
				c, _ := gen.NewClient("user", "pencil", "")
				m, err := runXDG(t, a, mech, cb, c.NewConversationWithChannelBinding(ccb))
				if err != nil || m.AccountID() != 7 {
					t.Fatalf("%s: %v", mech, err)
				}
				// A client bound to a different connection (a MITM's) fails.
				other := scram.ChannelBinding{Type: ccb.Type, Data: append([]byte{1}, ccb.Data[1:]...)}
				_, err = runXDG(t, a, mech, cb, c.NewConversationWithChannelBinding(other))
				var se *SCRAMError
				if !errors.Is(err, ErrAuthFailed) || !errors.As(err, &se) || se.Code != "channel-bindings-dont-match" {
					t.Fatalf("%s with foreign binding: %v", mech, err)
				}
			}
		})
	}
	if ChannelBindingFromTLS(nil, nil) != nil {
		t.Error("nil state gives non-nil binding")
	}
	if _, err := a.Start(context.Background(), "SCRAM-SHA-256-PLUS", testRemote, nil); !errors.Is(err, ErrUnsupportedMechanism) {
		t.Errorf("-PLUS without TLS: %v", err)
	}
}
