package oracle

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"barid/internal/config"
	"barid/internal/testkit"
)

// dovecotQuotaExtra turns on Dovecot 2.3's quota (count backend, one
// root "User quota") and METADATA (a file dict) with the limits barid
// gets from [quota] below.
const dovecotQuotaExtra = `
mail_plugins = $mail_plugins quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
  imap_metadata = yes
}
mail_attribute_dict = file:%h/dovecot-attributes
plugin {
  quota = count:User quota
  quota_rule = *:storage=3k:messages=3
  quota_vsizes = yes
}
`

var reLiteralValue = regexp.MustCompile(`\{(\d+)\}`)

// unliteral rewrites each literal {N}bytes of a line (testkit shows a
// literal's bytes inline) as the quoted string of the same bytes: a
// server may send a value either way (RFC 9051 §4.3), and Dovecot sends
// METADATA values as literals where barid quotes them.
func unliteral(l string) string {
	var b strings.Builder
	for {
		m := reLiteralValue.FindStringSubmatchIndex(l)
		if m == nil {
			b.WriteString(l)
			return b.String()
		}
		n, _ := strconv.Atoi(l[m[2]:m[3]])
		if m[1]+n > len(l) || strings.ContainsAny(l[m[1]:m[1]+n], "\r\n") {
			b.WriteString(l)
			return b.String()
		}
		v := l[m[1] : m[1]+n]
		b.WriteString(l[:m[0]])
		b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`)
		l = l[m[1]+n:]
	}
}

// quotaDifference is an answer of barid that differs from Dovecot's on
// purpose: both sides exactly as recorded, untagged.
type quotaDifference struct {
	why            string
	dovecot, barid []string
}

// TestQuotaMetadataLikeDovecot runs one QUOTA and METADATA session on
// Dovecot 2.3 with its quota and metadata plugins and on barid with the
// same limits, and compares the normalised answers to every command.
// The few answers that differ on purpose are recorded exactly (a
// recorded difference that disappears fails the test too).
func TestQuotaMetadataLikeDovecot(t *testing.T) {
	dc := testkit.StartDovecot(t, testkit.DovecotOptions{Users: []string{"alice"}, Extra: dovecotQuotaExtra})
	ks := testkit.Start(t, testkit.WithoutTLSListener(), testkit.Option(func(c *config.Config) {
		c.Quota.Storage, c.Quota.Messages = 3072, 3
	}))
	ks.AddUser("alice", "pw")
	x3000 := strings.Repeat("x", 3000)
	cmds := []string{
		`GETQUOTAROOT INBOX`,
		`GETQUOTA "User quota"`,
		`GETQUOTAROOT nosuch`,
		`GETQUOTA ""`,
		`SETQUOTA "User quota" (STORAGE 10)`,
		`APPEND INBOX {5+}` + "\r\nhello",
		`GETQUOTAROOT INBOX`,
		`APPEND INBOX {3000+}` + "\r\n" + x3000,
		`APPEND INBOX {10+}` + "\r\nhello12345",
		`GETQUOTA "User quota"`,
		`APPEND INBOX {10+}` + "\r\nhello12345",
		`SELECT INBOX`,
		`COPY 1 Sent`,
		`GETQUOTAROOT Sent`,
		`STORE 2 +FLAGS.SILENT (\Deleted)`,
		`EXPUNGE`,
		`GETQUOTAROOT INBOX`,
		`COPY 1 Sent`,
		`GETQUOTAROOT Sent`,
		`SETMETADATA INBOX (/private/Foo "bar")`,
		`GETMETADATA INBOX /private/foo`,
		`GETMETADATA INBOX /PRIVATE/FOO`,
		`GETMETADATA INBOX (/private/nothere /shared/comment)`,
		`SETMETADATA INBOX (/shared/comment {11+}` + "\r\nhello world)",
		`GETMETADATA (MAXSIZE 5) INBOX (/shared/comment /private/foo)`,
		`GETMETADATA (DEPTH 1) INBOX (/shared /private)`,
		`GETMETADATA (DEPTH infinity) INBOX /private`,
		`GETMETADATA (DEPTH 0) INBOX /private`,
		`GETMETADATA (MAXSIZE 0) INBOX /private/foo`,
		`GETMETADATA Sent /private/specialuse`,
		`SETMETADATA Sent (/private/specialuse "\\Junk")`,
		`SETMETADATA INBOX (/foo "x")`,
		`SETMETADATA INBOX ("/shared/a*" "x")`,
		`SETMETADATA INBOX (/shared/x/ "x")`,
		`SETMETADATA INBOX (/shared//x "x")`,
		`GETMETADATA nosuch /shared/x`,
		`GETMETADATA "" (/private/comment /shared/comment)`,
		`SETMETADATA INBOX (/private/foo NIL)`,
		`GETMETADATA INBOX /private/foo`,
		`SETMETADATA INBOX (/shared/comment NIL)`,
		`GETMETADATA INBOX /shared/comment`,
	}
	differ := map[string]quotaDifference{
		`GETQUOTA ""`: {why: "barid adds RFC 5530 [NONEXISTENT] to Dovecot's plain NO for an unknown quota root",
			dovecot: []string{"TAG NO"}, barid: []string{"TAG NO [NONEXISTENT]"}},
		`SETQUOTA "User quota" (STORAGE 10)`: {why: "barid adds RFC 5530 [NOPERM] to Dovecot's plain NO for a non-admin",
			dovecot: []string{"TAG NO"}, barid: []string{"TAG NO [NOPERM]"}},
		`GETMETADATA nosuch /shared/x`: {why: "barid adds RFC 5530 [NONEXISTENT] to Dovecot's plain NO for a missing mailbox",
			dovecot: []string{"TAG NO"}, barid: []string{"TAG NO [NONEXISTENT]"}},
	}
	sd, sb := dialSession(t, dc.Addr), dialSession(t, ks.Addr)
	for _, s := range []*session{sd, sb} {
		if r := s.run("L", "LOGIN alice pw"); !strings.HasPrefix(r[len(r)-1], "L OK") {
			t.Fatalf("login: %q", r)
		}
	}
	nd, nb := newNormalizer(dovecotSide), newNormalizer(baridSide)
	report := os.Getenv("ORACLE_REPORT") != ""
	for j, cmd := range cmds {
		tag := fmt.Sprintf("q%d", j)
		gd := nd.normalize(sd.run(tag, cmd))
		gb := nb.normalize(sb.run(tag, cmd))
		for i := range gd {
			gd[i] = unliteral(gd[i])
		}
		for i := range gb {
			gb[i] = unliteral(gb[i])
		}
		show := cmd
		if len(show) > 60 {
			show = show[:60] + "..."
		}
		d, isDiff := differ[cmd]
		switch {
		case isDiff && eq(untag(gd), d.dovecot) && eq(untag(gb), d.barid):
			t.Logf("%q: differs as recorded: %s", show, d.why)
		case isDiff:
			t.Errorf("%q: recorded difference (%s) no longer holds:\n  dovecot: %#v\n  barid:   %#v", show, d.why, untag(gd), untag(gb))
		case !eq(gd, gb):
			msg := fmt.Sprintf("%q:\n  dovecot: %s\n  barid:   %s", show, strings.Join(gd, "\n           "), strings.Join(gb, "\n           "))
			if report {
				t.Log(msg)
			} else {
				t.Error(msg)
			}
		}
	}
}
