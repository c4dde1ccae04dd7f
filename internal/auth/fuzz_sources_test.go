package auth

import (
	"strings"
	"testing"
)

// FuzzPasswdFile: any file content parses without a panic, every user
// it yields has a non-empty lower-case name without spaces, and a
// {PLAIN} password written on a well-formed line reads back.
func FuzzPasswdFile(f *testing.F) {
	f.Add([]byte("alice:{PLAIN}pw:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G\n"))
	f.Add([]byte("# comment\n\nbob@example.org:{SHA512-CRYPT}$6$x$y:::::: nologin\r\n:x\nnofields\n"))
	f.Add([]byte("a:b:c:d:e:f:g:h:i:j\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, _ := ParsePasswdFile(data)
		for k, e := range users {
			if k == "" || k != strings.ToLower(k) || strings.ContainsAny(k, " \t") || e.user.Name != k {
				t.Fatalf("bad user key %q (%+v)", k, e.user)
			}
			if e.user.QuotaBytes < 0 {
				t.Fatalf("negative quota %d", e.user.QuotaBytes)
			}
		}
	})
}

// FuzzSchemePassword: any stored value is verified or refused without a
// panic; {PLAIN} values match exactly their own text. Values that name
// the costly schemes (argon2, bcrypt, crypt rounds) are skipped so one
// input cannot stall the fuzzer: their parsers are bounded by
// maxArgonMemory and SchemeLimits (crypt_rounds, bcrypt_cost).
func FuzzSchemePassword(f *testing.F) {
	for _, s := range []string{"{PLAIN}secret", "{SSHA}DqlHJqkJfHbhKjszv7YMhcYVQxqWO383",
		"{PBKDF2}$1$fhXNQcy.MgQHVm1D$5000$175905f4d3b54437a3cc243e925011b2bda7c6f4",
		"{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56", "{SHA512.HEX}00", "{", "}", "{}x",
		"$1$XjG3WEdP$d5a63uII6ClNB.bFXQOCt/", "{DES-CRYPT}abgOeLfPimXQo", "abgOeLfPimXQo"} {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, stored, pw string) {
		u := strings.ToUpper(stored)
		if strings.Contains(u, "ARGON") || strings.Contains(u, "$2") || strings.Contains(u, "ROUNDS") ||
			strings.Contains(u, "PBKDF2") || strings.Contains(u, "BLF") {
			return
		}
		ok, err := VerifySchemePassword(stored, pw, "")
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
		if strings.HasPrefix(stored, "{PLAIN}") && ok != (stored[len("{PLAIN}"):] == pw) {
			t.Fatalf("PLAIN %q vs %q: %v", stored, pw, ok)
		}
	})
}

// FuzzBearer: any OAUTHBEARER or XOAUTH2 initial response parses or is
// refused as ErrMalformed, without a panic; a token found has no space
// or NUL.
func FuzzBearer(f *testing.F) {
	f.Add([]byte("n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"))
	f.Add([]byte("user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"))
	f.Add([]byte("y,,\x01auth=bearer x\x01\x01"))
	f.Add([]byte("n,a=a=2Cb=3D,\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func([]byte) (string, string, error){parseOAuthBearer, parseXOAuth2} {
			_, tok, err := parse(b)
			if err != nil {
				if err != ErrMalformed {
					t.Fatalf("error %v, want ErrMalformed", err)
				}
				continue
			}
			if tok == "" || strings.ContainsAny(tok, " \x00") {
				t.Fatalf("token %q", tok)
			}
		}
	})
}
