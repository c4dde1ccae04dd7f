package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"barid/internal/testkit"
)

// TestMixImaptestProfile runs `mix -profile imaptest` against a real
// barid: every answer passes, every command of imaptest's cycle is
// measured, and the cycle's DELETE and EXPUNGE bring the 60-message
// INBOXes down towards imaptest's threshold of 30, as imaptest does.
func TestMixImaptestProfile(t *testing.T) {
	s := testkit.Start(t, testkit.WithoutTLSListener())
	s.AddUser("mixu1", "pw")
	s.AddUser("mixu2", "pw")
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := Main(ctx, []string{"populate", "-addr", s.Addr, "-users", "1-2", "-count", "60", "-user-fmt", "mixu%d",
		"-password", "pw", "-progress=false"}, &out, &errb); code != 0 {
		t.Fatalf("populate exited %d: %s", code, errb.String())
	}
	res := filepath.Join(t.TempDir(), "r.jsonl")
	out.Reset()
	errb.Reset()
	if code := Main(ctx, []string{"mix", "-addr", s.Addr, "-profile", "imaptest", "-clients", "2", "-duration", "3s",
		"-user-fmt", "mixu%d", "-password", "pw", "-progress=false", "-json", res}, &out, &errb); code != 0 {
		t.Fatalf("mix -profile imaptest exited %d:\n%s\n%s", code, out.String(), errb.String())
	}
	b, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Mix == nil || rec.Mix.Errors != 0 {
		t.Fatalf("result %+v", rec.Mix)
	}
	counts := map[string]int{}
	for _, op := range rec.Mix.PerOp {
		counts[op.Name] = op.Count
	}
	for _, name := range []string{"EXPUNGE", "FETCH", "FETCH2", "DELETE"} {
		if counts[name] == 0 {
			t.Errorf("no %s measured: %v", name, counts)
		}
	}
	for _, name := range []string{"FETCH_ENV", "FETCH_BODY", "SELECT"} {
		if counts[name] != 0 {
			t.Errorf("%s is not in imaptest's cycle but ran %d times", name, counts[name])
		}
	}
	c, err := Dial(ctx, DialOptions{Addr: s.Addr, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("mixu1", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := c.Select("INBOX"); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(); n >= 60 {
		t.Errorf("INBOX still has %d messages: the cycle's DELETE and EXPUNGE did not shrink it", n)
	}
}

// TestMixProfileFlags: the imaptest profile runs in session mode only,
// and its operations are not weights.
func TestMixProfileFlags(t *testing.T) {
	for _, args := range [][]string{
		{"mix", "-profile", "imaptest", "-mode", "cycle"},
		{"mix", "-profile", "bogus"},
		{"mix", "-weights", "FETCH2=5"},
	} {
		var out, errb bytes.Buffer
		if code := Main(t.Context(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, strings.TrimSpace(errb.String()))
		}
	}
}
