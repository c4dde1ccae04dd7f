package auth

import (
	"os/exec"
	"strings"
	"testing"
)

// dovecotSchemes are the schemes of issue #19 that doveadm pw writes.
var dovecotSchemes = []string{"ARGON2ID", "ARGON2I", "BLF-CRYPT", "SHA512-CRYPT", "SHA256-CRYPT",
	"MD5-CRYPT", "CRYPT", "SSHA512", "SSHA256", "SSHA", "SHA512", "SHA256", "SHA", "PBKDF2", "CRAM-MD5", "PLAIN"}

// TestSchemesDoveadm hashes passwords with Dovecot's own "doveadm pw" in
// every scheme and checks that barid accepts the right password and
// refuses a wrong one.
func TestSchemesDoveadm(t *testing.T) {
	doveadm, err := exec.LookPath("doveadm")
	if err != nil {
		t.Skip("doveadm not installed")
	}
	for _, s := range dovecotSchemes {
		for _, pw := range []string{"secret", "pässwörd with spaces", strings.Repeat("long", 30)} {
			out, err := exec.Command(doveadm, "pw", "-s", s, "-p", pw).Output()
			if err != nil {
				t.Fatalf("doveadm pw -s %s: %v", s, err)
			}
			stored := strings.TrimSpace(string(out))
			ok, err := VerifySchemePassword(stored, pw, "")
			if err != nil || !ok {
				t.Errorf("%s: %q: right password refused: ok=%v err=%v", s, stored, ok, err)
			}
			// "x" in front: bcrypt reads only the first 72 bytes.
			ok, err = VerifySchemePassword(stored, "x"+pw, "")
			if err != nil || ok {
				t.Errorf("%s: %q: wrong password: ok=%v err=%v", s, stored, ok, err)
			}
		}
	}
}

// TestSchemesVectors checks fixed hashes of "secret" (made once with
// doveadm pw, Dovecot 2.3.19) and published vectors, so the schemes stay
// tested where doveadm is missing.
func TestSchemesVectors(t *testing.T) {
	for _, c := range []struct {
		stored, pw string
		want       bool
	}{
		{"{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$K5t3H9FJ2nCnJJtqMqqlnA$XUTqLualIVK03Kn+sx9zZw2u+vJbZXO7rlL8lbj+ws4", "secret", true},
		{"{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$vYIN6a+c1DCi7vdvCOUA4g$LcHdxAxr4MP8vW0K3RxJ+SOBhhqcINC51vj2J+YHaqQ", "secret", true},
		{"{BLF-CRYPT}$2y$05$GiZvDy22xyY3kkfl5WBrr.pzp626UqQGuvVzDhNI1kmWTKk9.SQ1m", "secret", true},
		{"{SHA512-CRYPT}$6$U4vAsQcoUwCAoq0b$Qyc/ebcLzkxn8k9pNuSQQcQN1T1jAmb5JF97Zs1Aubh8DlcimvdCFoM2PLfeCW/9lVwi9tseyqf4d1JxxuVr/1", "secret", true},
		{"{SHA256-CRYPT}$5$6boF0hEAcyz/VGGj$nqCn15yuPKxPGmu3VRW8Ya45inNjcNPeWN2dlJSgCj6", "secret", true},
		{"{SSHA512}RMAHJycOPzoN2jJRJ1Ja745WMQZZ1AyY6RYcf+lYUfDTQAGigoCudGuVVy5rN5efT1JBVIGZrlnWWo3i1inSFWG0CWY=", "secret", true},
		{"{SSHA}DqlHJqkJfHbhKjszv7YMhcYVQxqWO383", "secret", true},
		{"{SSHA256}G8XfJw5RuE7SrdF5e4GNAi9THRdRZwqZuAsp0dBzZLk2YhPU", "secret", true},
		{"{PBKDF2}$1$fhXNQcy.MgQHVm1D$5000$175905f4d3b54437a3cc243e925011b2bda7c6f4", "secret", true},
		{"{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56", "secret", true},
		{"{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56", "Secret", false},
		{"{PLAIN}secret", "secret", true},
		{"{PLAIN}secret", "secre", false},
		{"{PLAIN.b64}c2VjcmV0", "secret", true},
		{"{PLAIN.HEX}736563726574", "secret", true},
		{"{PLAIN.b64}c2VjcmV0", "c2VjcmV0", false},
		{"{MD5-CRYPT}$1$XjG3WEdP$d5a63uII6ClNB.bFXQOCt/", "secret", true},
		{"{SHA512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBhnWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/isg==", "secret", true},
		{"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "secret", true},
		// Drepper's SHA-crypt specification, test vectors 1 and 2 of
		// each algorithm (https://www.akkadia.org/drepper/SHA-crypt.txt),
		// the rounds=5000 ones also checked with "openssl passwd -5/-6".
		{"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!", true},
		{"$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!", true},
		{"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!", true},
		{"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "Hello world!", true},
		{"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world", false},
	} {
		ok, err := VerifySchemePassword(c.stored, c.pw, "")
		if err != nil || ok != c.want {
			t.Errorf("%q with %q: ok=%v err=%v, want %v", c.stored, c.pw, ok, err, c.want)
		}
	}
	for _, bad := range []string{"{DES-CRYPT}abJnggxhB/yW", "{NOPE}x", "{SSHA}!!", "{PBKDF2}$1$s$0$00",
		"{SHA512-CRYPT}$6$rounds=999999999$salt$xyz", "{ARGON2ID}$argon2id$v=19$m=99999999,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if ok, err := VerifySchemePassword(bad, "secret", ""); err == nil || ok {
			t.Errorf("%q: ok=%v err=%v, want an error", bad, ok, err)
		}
	}
}

// TestSchemeLimits: a SHA-crypt hash over crypt_rounds and a bcrypt
// hash over bcrypt_cost are refused with an error that names the
// limit; under the limits (or the defaults) they verify.
func TestSchemeLimits(t *testing.T) {
	sha := "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"
	bf := "{BLF-CRYPT}$2y$05$GiZvDy22xyY3kkfl5WBrr.pzp626UqQGuvVzDhNI1kmWTKk9.SQ1m"
	for _, c := range []struct {
		lim          SchemeLimits
		stored, pw   string
		wantErrNamed string
	}{
		{SchemeLimits{MaxCryptRounds: 9999}, sha, "Hello world!", "crypt_rounds"},
		{SchemeLimits{MaxCryptRounds: 10000}, sha, "Hello world!", ""},
		{SchemeLimits{}, sha, "Hello world!", ""},
		{SchemeLimits{MaxBcryptCost: 4}, bf, "secret", "bcrypt_cost"},
		{SchemeLimits{MaxBcryptCost: 5}, bf, "secret", ""},
		{SchemeLimits{}, bf, "secret", ""},
		{SchemeLimits{}, "{SHA512-CRYPT}$6$rounds=10000001$salt$xyz", "x", "crypt_rounds"},
		{SchemeLimits{}, "{BLF-CRYPT}$2y$17$GiZvDy22xyY3kkfl5WBrr.pzp626UqQGuvVzDhNI1kmWTKk9.SQ1m", "x", "bcrypt_cost"},
	} {
		ok, err := c.lim.Verify(c.stored, c.pw, "")
		if c.wantErrNamed == "" {
			if err != nil || !ok {
				t.Errorf("%+v %q: ok=%v err=%v", c.lim, c.stored, ok, err)
			}
			continue
		}
		if ok || err == nil || !strings.Contains(err.Error(), "limit "+c.wantErrNamed) {
			t.Errorf("%+v %q: ok=%v err=%v, want an error naming %s", c.lim, c.stored, ok, err, c.wantErrNamed)
		}
	}
}
