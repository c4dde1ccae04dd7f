package testkit

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Quote renders s as an IMAP quoted string.
func Quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

// HasLine reports whether some line matches the regular expression.
func HasLine(lines []string, re string) bool {
	r := regexp.MustCompile(re)
	for _, l := range lines {
		if r.MatchString(l) {
			return true
		}
	}
	return false
}

// MustHave fails the test unless some line matches re.
func MustHave(t testing.TB, lines []string, re string) {
	t.Helper()
	if !HasLine(lines, re) {
		t.Fatalf("no line matches %q in:\n%s", re, strings.Join(lines, "\n"))
	}
}

// MustNotHave fails the test if some line matches re.
func MustNotHave(t testing.TB, lines []string, re string) {
	t.Helper()
	if HasLine(lines, re) {
		t.Fatalf("a line matches %q in:\n%s", re, strings.Join(lines, "\n"))
	}
}

// NeedBinary returns the path of a program or skips the test, naming
// the program and the Debian package .ci/run installs it from.
func NeedBinary(t testing.TB, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("%s not installed (Debian package %q, installed by .ci/run): test skipped", bin, pkg)
	}
	return p
}

// Run runs a program with a deadline, HOME set to dir and a UTF-8
// locale, and returns its combined output; a failure fails the test
// with the output.
func Run(t testing.TB, timeout time.Duration, dir, name string, args ...string) string {
	t.Helper()
	out, err := RunErr(timeout, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// RunErr is Run that returns the error instead of failing.
func RunErr(timeout time.Duration, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "LC_ALL=C.UTF-8")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Message is a small RFC 5322 message whose subject names it, with
// CRLF line ends.
func Message(subject string) string {
	return "From: Tester <tester@example.org>\r\n" +
		"To: Alice <alice@example.org>\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Tue, 6 Jan 2026 09:30:00 +0000\r\n" +
		"Message-ID: <" + subject + "@example.org>\r\n" +
		"\r\n" +
		"Body of " + subject + ".\r\n"
}
