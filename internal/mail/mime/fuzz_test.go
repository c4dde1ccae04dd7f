package mime

import (
	"bytes"
	"io"
	"reflect"
	"testing"
)

// FuzzParse: any input parses without error or panic, the tree is
// consistent, Marshal/Unmarshal round-trips, and decoders agree with the
// recorded decoded sizes. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(rfc2046))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\n\n--a\n\n--a\nContent-Type: message/rfc822\n\n--a--\n"))
	f.Add([]byte("Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=3D=\r\n=ZZ \r\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, lim := range []Limits{{}, {MaxDepth: 3, MaxParts: 5, MaxHeaderBytes: 64}} {
			p, err := Parse(bytes.NewReader(msg), lim)
			if err != nil {
				t.Fatal(err)
			}
			checkTree(t, p, int64(len(msg)))
			q, err := Unmarshal(p.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, q) {
				t.Fatal("round trip differs")
			}
			var walk func(*Part)
			walk = func(x *Part) {
				if len(x.Children) == 0 && x.Flags&(FlagBinBase64|FlagBinQP) != 0 {
					r, _ := NewPartDecoder(bytes.NewReader(msg[x.BodyStart():x.BodyEnd()]), x)
					n, _ := io.Copy(io.Discard, r)
					if n != x.DecodedSize {
						t.Fatalf("decoder gave %d bytes, DecodedSize %d", n, x.DecodedSize)
					}
				}
				for _, c := range x.Children {
					walk(c)
				}
			}
			walk(p)
		}
		// Unmarshal and Annex never panic on arbitrary bytes
		_, _ = Unmarshal(msg)
		_, _ = Annex(msg, 0)
	})
}
