package bench

import "testing"

// TestFlagUpdateOnly: a FETCH outside a page is accepted when it carries
// only a flag update (another session's STORE) and refused otherwise.
func TestFlagUpdateOnly(t *testing.T) {
	for _, c := range []struct {
		rest string
		ok   bool
	}{
		{`(FLAGS (\Seen))`, true},
		{`(UID 35 FLAGS (\Seen $Bench) MODSEQ (77))`, true},
		{`(UID 35 FLAGS (\Seen) ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))`, false},
		{`(RFC822.SIZE 10)`, false},
		{`FLAGS`, false},
	} {
		err := flagUpdateOnly(&Resp{Num: 35, Word: []byte("FETCH"), Rest: []byte(c.rest)}, 72, 91)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.rest, err, c.ok)
		}
	}
}
