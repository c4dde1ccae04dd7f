package auth

import (
	"crypto/des"
	"encoding/binary"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
)

// TestDESCoreMatchesCryptoDES checks the DES of descrypt.go (with the
// expansion table unchanged, as with the salt "..") against the
// standard library's DES on random keys and blocks: the tables and the
// key schedule of FIPS 46-3.
func TestDESCoreMatchesCryptoDES(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		key, block := r.Uint64(), r.Uint64()
		var kb, bb, want [8]byte
		binary.BigEndian.PutUint64(kb[:], key)
		binary.BigEndian.PutUint64(bb[:], block)
		c, err := des.NewCipher(kb[:])
		if err != nil {
			t.Fatal(err)
		}
		c.Encrypt(want[:], bb[:])
		e := desE
		d := desCipher{e: &e}
		d.schedule(key)
		if got := d.encrypt(block); got != binary.BigEndian.Uint64(want[:]) {
			t.Fatalf("key %016x block %016x: got %016x, crypto/des %x", key, block, got, want)
		}
	}
}

// desCryptVectors were made with the system's crypt(3) (libxcrypt 4.4,
// through ctypes: lib.crypt(password, salt)) and by doveadm pw -s
// DES-CRYPT (Dovecot 2.3.19): salts with low and high bits set, the
// empty password, passwords of more than eight bytes (only eight count)
// and bytes with the high bit set (dropped).
var desCryptVectors = []struct{ pw, hash string }{
	{"test", "abgOeLfPimXQo"},
	{"", "..X8NBuQ4l6uQ"},
	{"password", "zzXUHfURnGg8I"},
	{"longerthan8chars", "/.zM6FLdMo0Tk"},
	{"longerth", "/.zM6FLdMo0Tk"},
	{"Hello, World", "Jkm/YZAmSbclQ"},
	{"\xc3\xa9t\xc3\xa9", "9QZ2EznUOkvv."},
	{"x", "./7H4fGCYxIHQ"},
	{"\xff\x80abc", "AZo9tVRy06BcY"},
	{"12345678", ".zE.a0PdYDb2U"},
	{"secret", "M06l3Lf14Iov."},     // doveadm
	{"p@ss w0rd!", "kwVaVtOSwwwaE"}, // doveadm
}

func TestDESCryptVectors(t *testing.T) {
	for _, v := range desCryptVectors {
		if got := desCrypt(v.pw, v.hash[:2]); got != v.hash {
			t.Errorf("crypt(%q, %q) = %q, want %q", v.pw, v.hash[:2], got, v.hash)
		}
		for _, stored := range []string{"{CRYPT}" + v.hash, "{DES-CRYPT}" + v.hash, v.hash} {
			ok, err := VerifySchemePassword(stored, v.pw, "")
			if err != nil || !ok {
				t.Errorf("%q with %q: ok=%v err=%v", stored, v.pw, ok, err)
			}
			if len(v.pw) >= 8 {
				// crypt(3) reads eight bytes: what follows does not count.
				if ok, err := VerifySchemePassword(stored, v.pw[:8]+"tail", ""); err != nil || !ok {
					t.Errorf("%q with %q: ok=%v err=%v", stored, v.pw[:8]+"tail", ok, err)
				}
			}
		}
		// A different first eight bytes never matches.
		wrong := "X" + v.pw
		if ok, err := VerifySchemePassword("{CRYPT}"+v.hash, wrong, ""); err != nil || ok {
			t.Errorf("%q with %q: ok=%v err=%v, want a refusal", v.hash, wrong, ok, err)
		}
	}
	for _, bad := range []string{"{DES-CRYPT}ab!nggxhB/yWI", "{DES-CRYPT}abJnggxhB/yW", "{CRYPT}_J9..CCCCXBrJUJV154M"} {
		if ok, err := VerifySchemePassword(bad, "test", ""); err == nil || ok {
			t.Errorf("%q: ok=%v err=%v, want an error", bad, ok, err)
		}
	}
}

// TestDESCryptDoveadm: fresh DES-CRYPT hashes from doveadm (random
// salts) verify.
func TestDESCryptDoveadm(t *testing.T) {
	doveadm, err := exec.LookPath("doveadm")
	if err != nil {
		t.Skip("doveadm not installed")
	}
	for _, pw := range []string{"secret", "Tr0ub4dor&3", "a"} {
		for range 3 {
			out, err := exec.Command(doveadm, "pw", "-s", "DES-CRYPT", "-p", pw).Output()
			if err != nil {
				t.Fatalf("doveadm pw -s DES-CRYPT: %v", err)
			}
			stored := strings.TrimSpace(string(out))
			if ok, err := VerifySchemePassword(stored, pw, ""); err != nil || !ok {
				t.Errorf("%q with %q: ok=%v err=%v", stored, pw, ok, err)
			}
			if ok, err := VerifySchemePassword(stored, "Q"+pw, ""); err != nil || ok {
				t.Errorf("%q with a wrong password: ok=%v err=%v", stored, ok, err)
			}
		}
	}
}

// FuzzDESCrypt: any stored 13-character value is checked or refused
// without a panic; a hash made by desCrypt verifies its password and
// every password with the same first eight bytes (seven bits each), and
// its form is what isDESCrypt accepts.
func FuzzDESCrypt(f *testing.F) {
	for _, v := range desCryptVectors {
		f.Add(v.pw, v.hash)
	}
	f.Add("x", "!!!!!!!!!!!!!")
	f.Fuzz(func(t *testing.T, pw, stored string) {
		if ok, err := verifyDESCrypt(stored, pw); err != nil && ok {
			t.Fatal("ok with an error")
		}
		if len(stored) < 2 {
			return
		}
		if _, ok := cryptIndex(stored[0]); !ok {
			return
		}
		if _, ok := cryptIndex(stored[1]); !ok {
			return
		}
		h := desCrypt(pw, stored[:2])
		if !isDESCrypt(h) || h[:2] != stored[:2] {
			t.Fatalf("desCrypt(%q, %q) = %q", pw, stored[:2], h)
		}
		if ok, err := verifyDESCrypt(h, pw); err != nil || !ok {
			t.Fatalf("%q does not verify its own password %q: %v", h, pw, err)
		}
		same := []byte(pw)
		for i := range same {
			same[i] ^= 0x80 // the high bit is dropped
		}
		if ok, _ := verifyDESCrypt(h, string(same)); !ok {
			t.Fatalf("%q: high bits of %q counted", h, pw)
		}
	})
}
