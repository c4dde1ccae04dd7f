package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// ddLine matches the summary dd prints in the C locale:
// "268435456 bytes (268 MB, 256 MiB) copied, 3.2 s, 83.9 MB/s".
var ddLine = regexp.MustCompile(`(?m)^(\d+) bytes .*copied, ([0-9.]+) s, .*$`)

// ddProbe runs "dd if=/dev/zero of=DIR/FILE bs=1M count=N oflag=dsync"
// (GNU coreutils) and returns the durable write bandwidth it saw: each
// 1 MiB write is on stable storage before the next starts, which is
// what a delivery acknowledged only after its fsync pays. The file is
// removed afterwards. The figure is dd's own bytes and seconds.
func ddProbe(ctx context.Context, dir string, count int) (*DDResult, error) {
	if count < 1 {
		return nil, fmt.Errorf("dd: -dd-count must be positive")
	}
	f, err := os.CreateTemp(dir, "bench-dd-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("dd: %w", err)
	}
	name := f.Name()
	f.Close()
	defer os.Remove(name)
	cmd := exec.CommandContext(ctx, "dd", "if=/dev/zero", "of="+name, "bs=1M", "count="+strconv.Itoa(count), "oflag=dsync")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("dd: %v: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	el := time.Since(t0)
	m := ddLine.FindSubmatch(out.Bytes())
	if m == nil {
		return nil, fmt.Errorf("dd: no summary line in %q", out.String())
	}
	res := &DDResult{Dir: filepath.Clean(dir), Count: count, Output: string(m[0])}
	res.Bytes, _ = strconv.ParseInt(string(m[1]), 10, 64)
	res.Seconds, _ = strconv.ParseFloat(string(m[2]), 64)
	if res.Seconds <= 0 {
		res.Seconds = el.Seconds()
	}
	res.MBPerSec = float64(res.Bytes) / 1e6 / res.Seconds
	return res, nil
}
