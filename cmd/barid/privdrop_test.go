package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Started as root with user = "nobody", barid binds its ports and then
// runs as nobody (README, Configuration: `user`, `group`).
func TestServeDropsPrivileges(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("not root: privilege drop cannot be tested")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	base, err := os.MkdirTemp("", "barid-priv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	bin := filepath.Join(base, "barid")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// (buildBarid puts the binary under t.TempDir, whose parent is 0700:
	// the unprivileged server could not reach its data there.)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	data := filepath.Join(base, "data")
	cfg := filepath.Join(base, "barid.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\nuser = \"nobody\"\n[imap]\nlisten = %q\nlisten_tls = \"\"\n", data, addr)), 0o600)
	if out, err := exec.Command(bin, "user", "add", "--data", data, "root-made").CombinedOutput(); err == nil {
		t.Fatalf("user add without a password should fail: %s", out)
	}
	add := exec.Command(bin, "user", "add", "--data", data, "pat")
	add.Stdin = strings.NewReader("pw\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var nc net.Conn
	for i := 0; i < 100; i++ {
		if nc, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if nc == nil {
		t.Fatal("server did not start")
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	br.ReadString('\n')
	// The server still works as nobody: log in and append (writes blobs
	// and the database).
	fmt.Fprintf(nc, "a LOGIN pat pw\r\nb APPEND INBOX {12+}\r\nSubject: x\r\n\r\nc LOGOUT\r\n")
	var lines []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			break
		}
		lines = append(lines, l)
	}
	joined := strings.Join(lines, "")
	if !strings.Contains(joined, "a OK") || !strings.Contains(joined, "b OK [APPENDUID") {
		t.Fatalf("session as nobody failed: %q", joined)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") {
			f := strings.Fields(line)
			for _, id := range f[1:] {
				if id != u.Uid {
					t.Fatalf("process still has uid %s: %q", id, line)
				}
			}
			return
		}
	}
	t.Fatal("no Uid line")
}
