package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain removes the barid built for the subprocess tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildDir holds the binary buildOnce built, if any (read by TestMain
// once every test is done).
var buildDir string

// buildOnce builds cmd/barid once per test binary.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "barid-e2e-bin-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	bin := filepath.Join(dir, "barid")
	out, err := exec.Command("go", "build", "-o", bin, "barid/cmd/barid").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/barid: %v\n%s", err, out)
	}
	return bin, nil
})

// baridBinary returns the path of a freshly built barid, skipping the
// test if the go tool is not available.
func baridBinary(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not in PATH: cannot build barid")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// proc is barid serving in a subprocess.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	addr string
	log  *syncBuffer
	done chan struct{}
}

// syncBuffer is a bytes.Buffer safe for the exec goroutine and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// addUserCLI runs "barid user add" with the password on stdin.
func addUserCLI(t testing.TB, bin, dataDir, name, password string, extra ...string) {
	t.Helper()
	args := append([]string{"user", "add", "--data", dataDir}, extra...)
	cmd := exec.Command(bin, append(args, name)...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("barid user add: %v\n%s", err, out)
	}
}

var listeningRE = regexp.MustCompile(`msg=listening service=imap addr=(\S+)`)

// startProc starts "barid serve" on a loopback port chosen by the kernel
// and waits until it listens. Extra arguments follow the defaults.
func startProc(t testing.TB, bin, dataDir string, extra ...string) *proc {
	t.Helper()
	return startProcEnv(t, bin, dataDir, nil, extra...)
}

// startProcEnv is startProc with extra environment variables.
func startProcEnv(t testing.TB, bin, dataDir string, env []string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--data", dataDir, "--imap", "127.0.0.1:0", "--imaps", "off", "--log-level", "info"}, extra...)
	p := &proc{t: t, cmd: exec.Command(bin, args...), log: &syncBuffer{}, done: make(chan struct{})}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningRE.FindStringSubmatch(p.log.String()); m != nil {
			p.addr = m[1]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("barid exited before listening:\n%s", p.log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("barid did not listen within 30s:\n%s", p.log)
	return nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// waitLog waits up to d for a log line matching re and returns its
// submatches (nil if none came).
func (p *proc) waitLog(re *regexp.Regexp, d time.Duration) []string {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.log.String()); m != nil || time.Now().After(deadline) {
			return m
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM (clean shutdown) and waits.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		p.t.Errorf("barid did not stop within 40s of SIGTERM")
		p.kill()
	}
}
