package sieve

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPigeonholeDifferential runs every script in
// testdata/differential/scripts against every message in
// testdata/differential/messages through this package and through
// Pigeonhole's sieve-test (Debian's dovecot-sieve), and compares the
// actions: folders with flags (keep and implicit keep are a store into
// INBOX), redirects, discard, reject and vacation, and whether the script
// compiles at all.
func TestPigeonholeDifferential(t *testing.T) {
	bin, err := exec.LookPath("sieve-test")
	if err != nil {
		t.Skip("sieve-test (Debian package dovecot-sieve) is not installed; skipping the comparison with Pigeonhole")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	dir := pigeonholeDir(t)
	scripts, _ := filepath.Glob("testdata/differential/scripts/*.sieve")
	msgs, _ := filepath.Glob("testdata/differential/messages/*.eml")
	if len(scripts) == 0 || len(msgs) == 0 {
		t.Fatal("no differential corpus")
	}
	for _, sp := range scripts {
		src, err := os.ReadFile(sp)
		if err != nil {
			t.Fatal(err)
		}
		for _, mp := range msgs {
			raw, err := os.ReadFile(mp)
			if err != nil {
				t.Fatal(err)
			}
			// the corpus is stored with LF; deliver it with CRLF
			raw = []byte(strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n", "\r\n"))
			name := filepath.Base(sp) + "×" + filepath.Base(mp)
			t.Run(name, func(t *testing.T) {
				want, wantOut := runPigeonhole(t, bin, dir, src, raw)
				got := runOurs(t, src, raw)
				if !sameActions(got, want) {
					t.Errorf("actions differ\n ours:       %v\n pigeonhole: %v\n--- sieve-test output:\n%s", got, want, wantOut)
				}
			})
		}
	}
}

const (
	diffSender    = "sender@example.org"
	diffRecipient = "me+folder@example.com"
)

// pigeonholeDir prepares a directory and a dovecot.conf for sieve-test.
// As root, sieve-test must drop privileges: it then runs as nobody, so
// the files must be readable by everyone.
func pigeonholeDir(t *testing.T) string {
	dir := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534
		for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			_ = os.Chmod(d, 0o1777)
		}
	}
	conf := fmt.Sprintf(`first_valid_uid = 0
first_valid_gid = 0
mail_uid = %d
mail_gid = %d
mail_location = maildir:%s/mail
base_dir = %s/run
ssl = no
plugin {
  sieve = file:%s/include/personal
  sieve_global = %s/include/global
  sieve_spamtest_status_type = score
  sieve_spamtest_status_header = X-Spam-Score
  sieve_spamtest_max_value = 10
  sieve_virustest_status_type = score
  sieve_virustest_status_header = X-Virus-Score
  sieve_virustest_max_value = 5
}
`, uid, gid, dir, dir, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// the scripts include may load, readable by sieve-test's user
	for _, loc := range []string{"personal", "global"} {
		d := filepath.Join(dir, "include", loc)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(filepath.Join(dir, "include"), 0o755)
		files, _ := filepath.Glob(filepath.Join("testdata/differential/include", loc, "*.sieve"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func runPigeonhole(t *testing.T, bin, dir string, src, raw []byte) ([]string, string) {
	t.Helper()
	sp := filepath.Join(dir, "script.sieve")
	mp := filepath.Join(dir, "message.eml")
	_ = os.Remove(filepath.Join(dir, "script.svbin"))
	if err := os.WriteFile(sp, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mp, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	exts := "+vacation-seconds +editheader +spamtest +spamtestplus +virustest +mime +foreverypart +extracttext +special-use +duplicate +ihave +enotify"
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "dovecot.conf"), "-x", exts,
		"-f", diffSender, "-r", diffRecipient, sp, mp)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, _ := cmd.CombinedOutput()
	return parsePigeonhole(string(out)), string(out)
}

// sameActions compares the canonical lists; sieve-test cuts long folder
// names and ends them with "...", so such an entry matches by prefix.
func sameActions(ours, ph []string) bool {
	if len(ours) != len(ph) {
		return false
	}
	used := make([]bool, len(ours))
	for _, w := range ph {
		found := false
		for k, g := range ours {
			if used[k] {
				continue
			}
			if g == w || strings.HasSuffix(w, "...") && strings.HasPrefix(g, strings.TrimSuffix(w, "...")) {
				used[k], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// parsePigeonhole reads sieve-test's "Performed actions" and "Implicit
// keep" sections into the canonical form of canon.
func parsePigeonhole(out string) []string {
	if strings.Contains(out, "failed to compile sieve script") ||
		!strings.Contains(out, "Performed actions:") && !strings.Contains(out, "implicit keep") && strings.Contains(out, ": error: ") {
		// sieve-test stops without a summary after many errors
		return []string{"compile-error"}
	}
	var acts []string
	if strings.Contains(out, "resolved with successful implicit keep") && !strings.Contains(out, "Performed actions:") {
		return []string{"store:INBOX"}
	}
	section := ""
	inMsg := false
	inBody := false // the "--"-delimited body of a notification
	var ntf *notifyCanon
	preserved := false // a store into INBOX "preserves the implicit keep"
	implicitAt := -1
	for _, line := range strings.Split(out, "\n") {
		tl := strings.TrimLeft(line, " \t")
		switch {
		case line == "START MESSAGE":
			inMsg = true
			continue
		case line == "END MESSAGE":
			inMsg = false
			continue
		case inMsg:
			continue
		case inBody:
			if line == "--" {
				if ntf.bodyOpen {
					inBody = false
				}
				ntf.bodyOpen = true
				continue
			}
			ntf.body = append(ntf.body, line)
			continue
		case strings.HasPrefix(line, "Performed actions:"):
			section = "performed"
			continue
		case strings.HasPrefix(line, "Implicit keep:"):
			section = "implicit"
			implicitAt = len(acts)
			continue
		case section == "" || strings.TrimSpace(tl) == "" || tl == "(none)":
			continue
		case !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t"):
			section = ""
			continue
		}
		if ntf != nil && !strings.HasPrefix(tl, "* ") {
			// the lines of a notification (Pigeonhole's ntfy-mailto
			// printout): "=> name : value", "+ Field: value"
			switch {
			case strings.HasPrefix(tl, "=> body"):
				inBody = true
			case strings.HasPrefix(tl, "=> "):
				k, v, _ := strings.Cut(strings.TrimPrefix(tl, "=> "), ":")
				ntf.set(strings.TrimSpace(k), strings.TrimPrefix(v, " "))
			case strings.HasPrefix(tl, "+ "):
				ntf.add(strings.TrimPrefix(tl, "+ "))
			}
			continue
		}
		if ntf != nil {
			acts = append(acts, ntf.String())
			ntf = nil
		}
		switch {
		case tl == "+ preserve implicit keep" && len(acts) > 0 && strings.HasPrefix(acts[len(acts)-1], "store:INBOX"):
			preserved = true
		case strings.HasPrefix(tl, "* store message in folder: "):
			acts = append(acts, "store:"+strings.TrimPrefix(tl, "* store message in folder: "))
		case strings.HasPrefix(tl, "+ add IMAP flags: ") && len(acts) > 0:
			// a flag twice is stored once: compare sets
			fl := strings.Fields(strings.ToLower(strings.TrimPrefix(tl, "+ add IMAP flags: ")))
			slices.Sort(fl)
			fl = slices.Compact(fl)
			acts[len(acts)-1] += "[" + strings.Join(fl, " ") + "]"
		case strings.HasPrefix(tl, "* redirect message to: "):
			acts = append(acts, "redirect:"+strings.Trim(strings.TrimPrefix(tl, "* redirect message to: "), "<>"))
		case tl == "* discard":
			acts = append(acts, "discard")
		case strings.HasPrefix(tl, "* reject message"):
			acts = append(acts, "reject")
		case strings.HasPrefix(tl, "* send vacation message"):
			acts = append(acts, "vacation")
		case strings.HasPrefix(tl, "* send notification with method "):
			ntf = &notifyCanon{}
		case strings.HasPrefix(tl, "* "):
			acts = append(acts, "other:"+tl[2:])
		}
	}
	if ntf != nil {
		acts = append(acts, ntf.String())
	}
	if preserved && implicitAt >= 0 && implicitAt < len(acts) && strings.HasPrefix(acts[implicitAt], "store:INBOX") {
		// sieve-test prints both, but executing (sieve-test -e) stores
		// the message once, with the explicit store's flags
		acts = slices.Delete(acts, implicitAt, implicitAt+1)
	}
	slices.Sort(acts)
	return acts
}

func runOurs(t *testing.T, src, raw []byte) []string {
	t.Helper()
	s, err := Compile("script", src, Options{}, diffIncludes)
	if err != nil {
		return []string{"compile-error"}
	}
	env := &Env{
		Envelope:      Envelope{From: diffSender, To: diffRecipient},
		Msg:           NewMessage(raw),
		Now:           time.Now().UTC(),
		MailboxExists: func(name string) bool { return name == "INBOX" },
		Location:      "MDA",
	}
	r, err := s.Execute(context.Background(), env)
	if err != nil {
		t.Logf("runtime error: %v", err)
	}
	return canon(r, env)
}

// diffIncludes loads the scripts include uses from
// testdata/differential/include/{personal,global}.
func diffIncludes(name string, global bool) ([]byte, error) {
	loc := "personal"
	if global {
		loc = "global"
	}
	return os.ReadFile(filepath.Join("testdata/differential/include", loc, name+".sieve"))
}

// canon renders a Result like parsePigeonhole renders sieve-test's
// output.
func canon(r *Result, env *Env) []string {
	var acts []string
	store := func(mb string, flags []string) string {
		s := "store:" + mb
		if len(flags) > 0 {
			fl := make([]string, len(flags))
			for k, f := range flags {
				fl[k] = strings.ToLower(f)
			}
			slices.Sort(fl)
			fl = slices.Compact(fl)
			s += "[" + strings.Join(fl, " ") + "]"
		}
		return s
	}
	for _, a := range r.Actions {
		switch x := a.(type) {
		case Keep:
			acts = append(acts, store("INBOX", x.Flags))
		case FileInto:
			acts = append(acts, store(x.Mailbox, x.Flags))
		case Redirect:
			acts = append(acts, "redirect:"+x.Address)
		case Discard:
			acts = append(acts, "discard")
		case Reject:
			acts = append(acts, "reject")
		case Vacation:
			// sieve-test prints a vacation action without applying the
			// RFC 5230 §4.5 checks; ShouldAutoReply has its own tests
			_ = x
			acts = append(acts, "vacation")
		case Notify:
			// sieve-test prints the notification whatever the message's
			// Auto-Submitted (RFC 5436 §2.7 is applied when it is
			// sent); ShouldNotify has its own test
			c := &notifyCanon{importance: fmt.Sprint(x.Importance), from: x.From, subject: x.Message}
			if c.subject == "" {
				c.subject = x.Mailto.Subject
			}
			for _, r := range x.Mailto.Recipients {
				field := "To"
				if r.Field == "cc" {
					field = "Cc"
				}
				c.add(field + ": " + r.Address)
			}
			for _, h := range x.Mailto.Headers {
				c.add(strings.ToLower(h[0]) + ": " + h[1])
			}
			if x.Mailto.HasBody {
				c.body = strings.Split(x.Mailto.Body, "\n")
			}
			acts = append(acts, c.String())
		}
	}
	if r.ImplicitKeep {
		acts = append(acts, store("INBOX", r.KeepFlags))
	}
	slices.Sort(acts)
	return acts
}

// notifyCanon is a notification in the form both sides are compared in:
// importance, :from, subject, recipients and extra header fields (as
// sets) and the body.
type notifyCanon struct {
	importance, from, subject string
	items                     []string
	body                      []string
	bodyOpen                  bool
}

func (c *notifyCanon) set(k, v string) {
	switch k {
	case "importance":
		c.importance = v
	case "from":
		c.from = v
	case "subject":
		c.subject = v
	}
}

func (c *notifyCanon) add(item string) { c.items = append(c.items, item) }

func (c *notifyCanon) String() string {
	items := slices.Clone(c.items)
	slices.Sort(items)
	return fmt.Sprintf("notify[importance=%s from=%q subject=%q %s body=%q]", c.importance, c.from, c.subject,
		strings.Join(items, ","), strings.Join(c.body, "\n"))
}
