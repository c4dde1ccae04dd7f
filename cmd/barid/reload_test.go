package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// SIGHUP (systemd's ExecReload) re-reads the config file: a new
// log_level applies at once (a debug line appears that info hid), other
// changes are logged as needing a restart, and a broken file keeps the
// running configuration.
func TestSIGHUPReloadsConfig(t *testing.T) {
	bin := buildBarid(t)
	dir := t.TempDir()
	imaps := freeAddr(t)
	cfgFile := filepath.Join(dir, "barid.toml")
	write := func(level, imapAddr string) {
		os.WriteFile(cfgFile, []byte(fmt.Sprintf("data_dir = %q\nlog_level = %q\n[imap]\nlisten = %q\nlisten_tls = %q\n", filepath.Join(dir, "data"), level, imapAddr, imaps)), 0o600)
	}
	imap := freeAddr(t)
	write("info", imap)
	cmd := exec.Command(bin, "serve", "--config", cfgFile)
	var logs lockedBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	waitFor := func(what string) {
		t.Helper()
		for i := 0; i < 400; i++ {
			if strings.Contains(logs.String(), what) {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Fatalf("no %q in the log:\n%s", what, logs.String())
	}
	waitFor("service=imaps")
	// A failed TLS handshake is logged at debug level only.
	badTLS := func() {
		c, err := net.Dial("tcp", imaps)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("not a TLS client hello\r\n"))
		time.Sleep(200 * time.Millisecond)
		c.Close()
	}
	badTLS()
	if strings.Contains(logs.String(), "tls handshake failed") {
		t.Fatal("debug line logged at info level")
	}
	write("debug", freeAddr(t))
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("log_level=debug")
	waitFor(`config changes that need a restart" sections=[imap]`)
	badTLS()
	waitFor("tls handshake failed")
	os.WriteFile(cfgFile, []byte("this is not toml ["), 0o600)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor("config reload failed; keeping the running configuration")
}
