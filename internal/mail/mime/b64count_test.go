package mime

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestB64CountMatchesDecode: count (BINARY.SIZE without the output) says
// as many bytes as decode writes, for the same input cut into the same
// pieces, valid or not: line ends, padding, characters outside the
// alphabet, data after padding.
func TestB64CountMatchesDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	inputs := []string{
		"", "QQ==", "QUI=", "QUJD", "QUJDRA==\r\n", "QU JD\tRA\r\n==", "QQ==QUJD", "Q", "QU", "QUJ",
		"!!QUJD", "QUJD\r\n=\r\n=", "====",
		strings.Repeat(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 57)))+"\r\n", 20),
	}
	for range 500 {
		var b strings.Builder
		for range rng.IntN(300) {
			switch r := rng.IntN(40); {
			case r == 0:
				b.WriteByte('=')
			case r == 1:
				b.WriteString("\r\n")
			case r == 2:
				b.WriteByte(byte(rng.IntN(256)))
			default:
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		for _, piece := range []int{1, 3, 7, 76, 1 << 20} {
			var dec, cnt b64State
			var out []byte
			var n int64
			for i := 0; i < len(in); i += piece {
				chunk := []byte(in[i:min(len(in), i+piece)])
				out = dec.decode(out, chunk)
				n += cnt.count(chunk)
			}
			if n != int64(len(out)) || cnt.n != dec.n || cnt.pad != dec.pad || cnt.done != dec.done || cnt.bad != dec.bad {
				t.Fatalf("%q in pieces of %d: count %d (state n=%d pad=%d done=%v bad=%v), decode %d (n=%d pad=%d done=%v bad=%v)",
					in, piece, n, cnt.n, cnt.pad, cnt.done, cnt.bad, len(out), dec.n, dec.pad, dec.done, dec.bad)
			}
		}
	}
}

func BenchmarkB64Count(b *testing.B) {
	line := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("attachment bytes ", 4))) + "\r\n"
	in := []byte(strings.Repeat(line[:76]+"\r\n", 1000))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		var s b64State
		s.count(in)
	}
}
