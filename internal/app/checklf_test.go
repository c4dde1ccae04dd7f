package app

import "testing"

// bareLFs counts the LFs that RFC822.SIZE counts as two bytes, across
// write boundaries (a CR at the end of one chunk, its LF at the start
// of the next).
func TestBareLFs(t *testing.T) {
	for _, tc := range []struct {
		chunks []string
		want   int64
	}{
		{[]string{"a\r\nb\r\n"}, 0},
		{[]string{"a\nb\n"}, 2},
		{[]string{"\n\n\r\n"}, 2},
		{[]string{"a\r", "\nb\n"}, 1},
		{[]string{"a", "\n", "\r", "\n", "\n"}, 2},
		{[]string{"", "\r\r\n\n"}, 1},
	} {
		var c bareLFs
		for _, ch := range tc.chunks {
			c.Write([]byte(ch))
		}
		if c.n != tc.want {
			t.Errorf("%q: %d bare LFs, want %d", tc.chunks, c.n, tc.want)
		}
	}
}
