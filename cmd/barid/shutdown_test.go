package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func buildBarid(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "barid")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServe(t *testing.T, bin, data, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--imap", addr, "--imaps", "off", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(25 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("server did not start")
	return nil
}

// SIGTERM shuts down cleanly: an APPEND in flight finishes and is
// acknowledged, an idle client gets BYE, and the message is there after
// a restart (README: Signals).
func TestSIGTERMFinishesInFlightCommands(t *testing.T) {
	bin := buildBarid(t)
	data := t.TempDir()
	add := exec.Command(bin, "user", "add", "--data", data, "terry")
	add.Stdin = strings.NewReader("pw\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cmd := startServe(t, bin, data, addr)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()

	dial := func() (net.Conn, *bufio.Reader) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(nc)
		br.ReadString('\n')
		fmt.Fprintf(nc, "l LOGIN terry pw\r\n")
		for {
			l, _ := br.ReadString('\n')
			if strings.HasPrefix(l, "l ") {
				break
			}
		}
		return nc, br
	}
	idle, idleR := dial()
	defer idle.Close()
	busy, busyR := dial()
	defer busy.Close()

	msg := "Subject: in flight\r\n\r\n" + strings.Repeat("x", 5000) + "\r\n"
	fmt.Fprintf(busy, "a APPEND INBOX {%d}\r\n", len(msg))
	if l, _ := busyR.ReadString('\n'); !strings.HasPrefix(l, "+") {
		t.Fatalf("no continuation: %q", l)
	}
	busy.Write([]byte(msg[:100]))
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	// The idle client is told the server is going away.
	if l, _ := idleR.ReadString('\n'); !strings.HasPrefix(l, "* BYE") {
		t.Fatalf("idle client: %q", l)
	}
	// The command in flight completes.
	busy.Write([]byte(msg[100:] + "\r\n"))
	var got []string
	for {
		l, err := busyR.ReadString('\n')
		if err != nil {
			break
		}
		got = append(got, l)
	}
	joined := strings.Join(got, "")
	if !strings.Contains(joined, "a OK [APPENDUID") {
		t.Fatalf("APPEND in flight not acknowledged: %q", joined)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	// Restart: the acknowledged message is there.
	cmd2 := startServe(t, bin, data, addr)
	defer func() { cmd2.Process.Kill(); cmd2.Wait() }()
	c, r := dial()
	defer c.Close()
	fmt.Fprintf(c, "s STATUS INBOX (MESSAGES)\r\n")
	if l, _ := r.ReadString('\n'); !strings.Contains(l, "MESSAGES 1") {
		t.Fatalf("after restart: %q", l)
	}
}
