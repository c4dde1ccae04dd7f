package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNewSecretVerify(t *testing.T) {
	t.Parallel()
	s, err := NewSecret("pencil", testParams)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(s, []byte("pencil")) {
		t.Fatal("secret contains the password")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"pencil", true},
		{"Pencil", false},
		{"pencil ", false},
		{"", false},
	} {
		ok, err := VerifyPassword(s, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	p, err := parseSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Argon == nil || p.SHA1 == nil || p.SHA256 == nil {
		t.Fatalf("secret lacks parts: %+v", p)
	}
	if p.SHA1.Iterations != 4096 || len(p.SHA1.StoredKey) != 20 || len(p.SHA256.ServerKey) != 32 {
		t.Errorf("SCRAM keys wrong shape: %+v %+v", p.SHA1, p.SHA256)
	}
	// Two secrets of one password differ (random salts).
	s2, _ := NewSecret("pencil", testParams)
	if bytes.Equal(s, s2) {
		t.Error("two secrets for one password are identical")
	}
	if !bytes.Equal(p.encode(), s) {
		t.Error("parse/encode round trip changed the secret")
	}
}

// TestArgon2Reference checks hashes made by the argon2 reference
// implementation's CLI (Debian package argon2):
//
//	echo -n pencil | argon2 somesalt1234 -id -t 2 -k 64 -p 1 -l 32 -e
//	echo -n password | argon2 saltsaltsalt -id -t 3 -k 32 -p 2 -l 16 -e
func TestArgon2Reference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		phc, good, bad string
	}{
		{"$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQxMjM0$m1foeYe/JbDCT65OBKTdSvU5C5XvaJ69T0AZXW3mjCY", "pencil", "pencil2"},
		{"$argon2id$v=19$m=32,t=3,p=2$c2FsdHNhbHRzYWx0$crOyUK2+DbAsQaDxPk1giQ", "password", "Password"},
	} {
		for pw, want := range map[string]bool{tc.good: true, tc.bad: false} {
			ok, err := VerifyPassword([]byte(tc.phc), pw)
			if err != nil || ok != want {
				t.Errorf("VerifyPassword(%s, %q) = %v, %v; want %v", tc.phc, pw, ok, err, want)
			}
		}
		a, err := parsePHC(tc.phc)
		if err != nil {
			t.Fatal(err)
		}
		if a.phc() != tc.phc {
			t.Errorf("phc round trip: %s != %s", a.phc(), tc.phc)
		}
	}
}

// TestSASLprep uses RFC 4013 §3's examples. Equivalent forms must verify
// against each other; prohibited input falls back to the raw string.
func TestSASLprep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"I\u00ADX", "IX"},               // SOFT HYPHEN mapped to nothing
		{"user", "user"},                 // no transformation
		{"USER", "USER"},                 // case preserved
		{"\u00AA", "a"},                  // NFKC
		{"\u2168", "IX"},                 // NFKC
		{"\u0007", "\u0007"},             // prohibited: raw fallback
		{"\u0627\u0031", "\u0627\u0031"}, // bidi error: raw fallback
		{"a\u00A0b", "a b"},              // non-ASCII space mapped to SPACE
		{"🔑key", "🔑key"},                 // unassigned in Unicode 3.2: raw fallback
	} {
		if got := normalizePassword(tc.in); got != tc.want {
			t.Errorf("normalizePassword(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	s, err := NewSecret("I\u00ADX", testParams)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"IX", "\u2168", "I\u00ADX"} {
		if ok, _ := VerifyPassword(s, pw); !ok {
			t.Errorf("%q does not verify against SASLprep-equal password", pw)
		}
	}
}

func TestNewSecretParams(t *testing.T) {
	t.Parallel()
	bad := []Params{
		{},
		{ArgonTime: 1, ArgonMemory: 64, ArgonThreads: 1, SCRAMIterations: 100},
		{ArgonTime: 0, ArgonMemory: 64, ArgonThreads: 1, SCRAMIterations: 4096},
		{ArgonTime: 1, ArgonMemory: 4, ArgonThreads: 1, SCRAMIterations: 4096},
		{ArgonTime: 1, ArgonMemory: 64, ArgonThreads: 0, SCRAMIterations: 4096},
	}
	for _, p := range bad {
		if _, err := NewSecret("x", p); err == nil {
			t.Errorf("NewSecret with %+v succeeded", p)
		}
	}
	if _, err := NewSecret("", testParams); err == nil {
		t.Error("empty password accepted")
	}
	p := testParams
	p.NoSCRAM = true
	p.SCRAMIterations = 0
	s, err := NewSecret("pencil", p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(s), "scram") {
		t.Errorf("NoSCRAM secret has SCRAM keys:\n%s", s)
	}
	if err := DefaultParams().validate(); err != nil {
		t.Errorf("DefaultParams invalid: %v", err)
	}
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	s, _ := NewSecret("pencil", testParams)
	if NeedsRehash(s, testParams) {
		t.Error("fresh secret needs rehash")
	}
	stronger := testParams
	stronger.ArgonMemory *= 2
	if !NeedsRehash(s, stronger) {
		t.Error("weaker memory not detected")
	}
	more := testParams
	more.SCRAMIterations *= 2
	if !NeedsRehash(s, more) {
		t.Error("fewer SCRAM iterations not detected")
	}
	if !NeedsRehash([]byte("$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQxMjM0$m1foeYe/JbDCT65OBKTdSvU5C5XvaJ69T0AZXW3mjCY"), testParams) {
		t.Error("bare PHC (no SCRAM keys) should need rehash")
	}
	if !NeedsRehash([]byte("junk"), testParams) {
		t.Error("junk should need rehash")
	}
}

func TestParseSecretErrors(t *testing.T) {
	t.Parallel()
	good, _ := NewSecret("pencil", testParams)
	lines := strings.Split(strings.TrimSpace(string(good)), "\n")
	argonLine, sha1Line := lines[1], lines[2]
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"magic", "barid-secret 2\n" + argonLine},
		{"phc bad version", "$argon2id$v=16$m=64,t=2,p=1$c29tZXNhbHQxMjM0$m1foeYe/JbDCT65OBKTdSvU5C5XvaJ69T0AZXW3mjCY"},
		{"phc argon2i", "$argon2i$v=19$m=64,t=2,p=1$c29tZXNhbHQxMjM0$m1foeYe/JbDCT65OBKTdSvU5C5XvaJ69T0AZXW3mjCY"},
		{"phc huge memory", "$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQxMjM0$m1foeYe/JbDCT65OBKTdSvU5C5XvaJ69T0AZXW3mjCY"},
		{"phc huge time", "$argon2id$v=19$m=64,t=9999,p=1$c29tZXNhbHQxMjM0$m1foeYe/JbDCT65OBKTdSvU5C5XvaJ69T0AZXW3mjCY"},
		{"phc missing p", "$argon2id$v=19$m=64,t=2$c29tZXNhbHQxMjM0$m1foeYe/JbDCT65OBKTdSvU5C5XvaJ69T0AZXW3mjCY"},
		{"phc short hash", "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQxMjM0$m1fo"},
		{"phc bad b64", "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQxMjM0$!!!!"},
		{"dup argon", secretMagic + "\n" + argonLine + "\n" + argonLine},
		{"dup scram", secretMagic + "\n" + sha1Line + "\n" + sha1Line},
		{"scram short key", secretMagic + "\nscram-sha-1 4096 c2FsdA== AAAA AAAA"},
		{"scram bad iter", secretMagic + "\nscram-sha-256 x c2FsdA== AAAA AAAA"},
		{"scram fields", secretMagic + "\nscram-sha-256 4096"},
	} {
		if _, err := parseSecret([]byte(tc.in)); !errors.Is(err, ErrBadSecret) {
			t.Errorf("%s: parseSecret err = %v, want ErrBadSecret", tc.name, err)
		}
	}
	// Unknown items are ignored (forward compatibility).
	if _, err := parseSecret([]byte(string(good) + "future-thing 1 2 3\n")); err != nil {
		t.Errorf("unknown line rejected: %v", err)
	}
	if _, err := VerifyPassword([]byte(secretMagic+"\n"+sha1Line), "pencil"); !errors.Is(err, ErrBadSecret) {
		t.Errorf("VerifyPassword without argon2id: %v", err)
	}
}
