package bench

import (
	"slices"
	"testing"
)

func TestAddrList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"127.0.0.1:143", []string{"127.0.0.1:143"}},
		{"127.0.0.1:1, 127.0.0.1:2", []string{"127.0.0.1:1", "127.0.0.1:2"}},
		{"a:1,,b:2,", []string{"a:1", "b:2"}},
	} {
		if got := addrList(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("addrList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	c := common{addr: "a:1,b:2,c:3"}
	var got []string
	for i := range 5 {
		got = append(got, c.addrFor(i))
	}
	if want := []string{"a:1", "b:2", "c:3", "a:1", "b:2"}; !slices.Equal(got, want) {
		t.Errorf("addrFor 0..4 = %q, want %q", got, want)
	}
}

func TestPIDList(t *testing.T) {
	var l pidList
	if err := l.Set("12, 34,56"); err != nil || !slices.Equal(l, pidList{12, 34, 56}) || l.String() != "12,34,56" {
		t.Fatalf("Set: %v %v %q", l, err, l.String())
	}
	for _, bad := range []string{"x", "1,-2", "0"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted: %v", bad, l)
		}
	}
}
