package pop3

import (
	"math"
	"testing"
)

// TestMaildropSizes: sizes are kept in 4 bytes a message, and one of
// 4 GiB or more (literal_size has no ceiling) keeps its exact size for
// LIST, STAT and RETR's "+OK n octets".
func TestMaildropSizes(t *testing.T) {
	want := []int64{0, 1, 16_400, math.MaxUint32, math.MaxUint32 + 1, 5 << 30}
	d := &maildrop{sizes: make([]uint32, len(want))}
	for i, sz := range want {
		d.setSize(i, sz)
		d.total += sz
	}
	for i, sz := range want {
		if got := d.size(i + 1); got != sz {
			t.Errorf("message %d: size %d, want %d", i+1, got, sz)
		}
	}
	d.deleted = newBitset(len(want))
	d.dele(5)
	if got, w := d.octets(), d.total-(math.MaxUint32+1); got != w {
		t.Errorf("STAT octets after DELE 5 = %d, want %d", got, w)
	}
}
