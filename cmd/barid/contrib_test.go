package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// contrib/barid.service passes systemd-analyze verify (skipped where
// systemd-analyze is missing) with no warning at all, keeps the
// hardening operators expect, reloads with SIGHUP, and its ExecStart
// flags are ones "barid serve" accepts.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "contrib", "barid.service"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string][]string{}
	for _, l := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			lines[k] = append(lines[k], v)
		}
	}
	for k, want := range map[string]string{
		"ProtectSystem": "strict", "ReadWritePaths": "/var/lib/barid", "NoNewPrivileges": "yes",
		"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE", "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
		"PrivateTmp": "yes", "ProtectHome": "yes", "SystemCallFilter": "@system-service",
		"ExecReload": "/bin/kill -HUP $MAINPID", "User": "barid",
	} {
		if !strings.Contains(strings.Join(lines[k], "\n"), want) {
			t.Errorf("%s=%s missing (have %q)", k, want, lines[k])
		}
	}
	exe := strings.Fields(lines["ExecStart"][0])
	if exe[0] != "/usr/local/bin/barid" || exe[1] != "serve" {
		t.Fatalf("ExecStart %q", exe)
	}
	bin := buildBarid(t)
	args := append(exe[1:], "--help")
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil || !strings.Contains(string(out), "Usage: barid serve") {
		t.Errorf("barid %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	// verify wants ExecStart to exist: point it at the binary just built.
	tmp := filepath.Join(t.TempDir(), "barid.service")
	os.WriteFile(tmp, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/barid", bin)), 0o644)
	out, err := exec.Command(sa, "verify", tmp).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
