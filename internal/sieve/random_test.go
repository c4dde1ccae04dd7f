package sieve

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPigeonholeRandom compares random scripts (from a grammar of the
// tests and actions clients generate) with Pigeonhole's sieve-test, on
// the differential corpus's messages. It is opt-in, as it takes a while:
//
//	SIEVE_RANDOM=300 go test -run PigeonholeRandom ./internal/sieve
//
// SIEVE_RANDOM_SEED picks the seed (default 1). A failing script is
// printed in full, ready to become a corpus entry.
func TestPigeonholeRandom(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIEVE_RANDOM"))
	if n <= 0 {
		t.Skip("set SIEVE_RANDOM=<count> to compare random scripts with Pigeonhole")
	}
	bin, err := exec.LookPath("sieve-test")
	if err != nil {
		t.Skip("sieve-test (Debian package dovecot-sieve) is not installed")
	}
	seed, _ := strconv.ParseUint(os.Getenv("SIEVE_RANDOM_SEED"), 10, 64)
	if seed == 0 {
		seed = 1
	}
	r := rand.New(rand.NewPCG(seed, 7))
	dir := pigeonholeDir(t)
	msgs, _ := filepath.Glob("testdata/differential/messages/*.eml")
	fails, compiled := 0, 0
	defer func() { t.Logf("%d scripts, %d compiled on both sides, %d differ", n, compiled, fails) }()
	for k := 0; k < n && fails < 10; k++ {
		src := genScript(r)
		mp := msgs[r.IntN(len(msgs))]
		raw, _ := os.ReadFile(mp)
		raw = []byte(strings.ReplaceAll(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n", "\r\n"))
		want, out := runPigeonhole(t, bin, dir, []byte(src), raw)
		if strings.Contains(out, "Panic:") {
			// sieve-test itself crashed (seen: an assertion in its body
			// part code); nothing to compare
			t.Logf("script %d: sieve-test panicked, skipped:\n%s", k, src)
			continue
		}
		got := runOurs(t, []byte(src), raw)
		if len(want) == 0 || want[0] != "compile-error" {
			compiled++
		}
		if !sameActions(got, want) {
			fails++
			t.Errorf("script %d on %s differs\n ours:       %v\n pigeonhole: %v\n--- script:\n%s\n--- sieve-test:\n%s", k, filepath.Base(mp), got, want, src, out)
		}
	}
}

var (
	rndHeaders = []string{"subject", "from", "to", "cc", "x-spam-score", "list-id", "x-priority", "message-id", "x-none", "date", "content-type"}
	rndAddrHdr = []string{"from", "to", "cc", "reply-to", "sender"}
	rndKeys    = []string{"", "present", "PRESENT", "example", "example.com", "acme", "*", "*@*", "?", "*dev*", "[*]*", "I have*", "me", "boss", "7", "3", "Weekly", "invoice", "=?", "list", "coyote", "*.example.*", "x*y", "\\\\*", "me@example.com", "desert.example.org", "lists.example.net", "deals"}
	rndFlags   = []string{"\\\\Seen", "\\\\Flagged", "\\\\Answered", "$Work", "Junk", "\\\\Deleted", "$label1"}
	rndBoxes   = []string{"A", "B", "Lists", "Junk", "INBOX", "Archive/2026", "Work"}
)

func pick[T any](r *rand.Rand, l []T) T { return l[r.IntN(len(l))] }

func genMatch(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return ":contains "
	case 1:
		return ":matches "
	case 2:
		return ":is :comparator \"i;octet\" "
	case 3:
		return ":contains :comparator \"i;octet\" "
	case 4:
		return fmt.Sprintf(":value \"%s\" :comparator \"i;ascii-numeric\" ", pick(r, []string{"gt", "ge", "lt", "le", "eq", "ne"}))
	case 5:
		return fmt.Sprintf(":count \"%s\" :comparator \"i;ascii-numeric\" ", pick(r, []string{"gt", "ge", "lt", "eq", "ne"}))
	case 6:
		return ":is "
	}
	return ""
}

func genKeys(r *rand.Rand, numeric bool) string {
	if numeric {
		return fmt.Sprintf("\"%d\"", r.IntN(10))
	}
	if r.IntN(3) == 0 {
		return fmt.Sprintf("[\"%s\", \"%s\"]", pick(r, rndKeys), pick(r, rndKeys))
	}
	return "\"" + pick(r, rndKeys) + "\""
}

func genTest(r *rand.Rand, depth int) string {
	k := r.IntN(14)
	if depth > 2 && k < 3 {
		k = 3 + r.IntN(11)
	}
	switch k {
	case 0:
		return "not " + genTest(r, depth+1)
	case 1, 2:
		op := "allof"
		if k == 2 {
			op = "anyof"
		}
		return fmt.Sprintf("%s (%s, %s)", op, genTest(r, depth+1), genTest(r, depth+1))
	case 3, 4:
		m := genMatch(r)
		return fmt.Sprintf("header %s\"%s\" %s", m, pick(r, rndHeaders), genKeys(r, strings.Contains(m, "numeric")))
	case 5, 6:
		m := genMatch(r)
		part := pick(r, []string{"", ":all ", ":localpart ", ":domain ", ":user ", ":detail "})
		return fmt.Sprintf("address %s%s\"%s\" %s", part, m, pick(r, rndAddrHdr), genKeys(r, strings.Contains(m, "numeric")))
	case 7:
		m := genMatch(r)
		part := pick(r, []string{"", ":all ", ":localpart ", ":domain ", ":user ", ":detail "})
		return fmt.Sprintf("envelope %s%s\"%s\" %s", part, m, pick(r, []string{"from", "to"}), genKeys(r, strings.Contains(m, "numeric")))
	case 8:
		return fmt.Sprintf("exists [\"%s\", \"%s\"]", pick(r, rndHeaders), pick(r, rndHeaders))
	case 9:
		return fmt.Sprintf("size %s %d", pick(r, []string{":over", ":under"}), r.IntN(2000))
	case 10:
		return fmt.Sprintf("body %s :contains %s", pick(r, []string{":text", ":raw", ":content \"text\"", ""}), genKeys(r, false))
	case 11:
		switch r.IntN(7) {
		case 0:
			return fmt.Sprintf("string %s\"${%s}\" %s", genMatch(r), pick(r, []string{"v", "1", "0", "w"}), genKeys(r, false))
		case 1:
			return fmt.Sprintf("date %s%s\"date\" \"%s\" %s", pick(r, []string{"", ":originalzone ", ":zone \"+0100\" "}), pick(r, []string{":matches ", ":is ", ":value \"gt\" "}),
				pick(r, []string{"year", "month", "day", "hour", "weekday", "date", "time", "zone"}), genKeys(r, false))
		case 2:
			return fmt.Sprintf("header :regex \"%s\" \"%s\"", pick(r, rndHeaders), pick(r, []string{"^.*$", "[0-9]+", "(a|e)x", "^[[:alpha:]]+", "e.ample", ""}))
		case 3:
			return fmt.Sprintf("header :index %d %s%s\"%s\" %s", 1+r.IntN(2), pick(r, []string{"", ":last "}), genMatch(r), pick(r, []string{"received", "cc", "to", "subject"}), genKeys(r, false))
		case 4:
			return fmt.Sprintf("header :mime %s\"content-type\" %s", pick(r, []string{":type ", ":subtype ", ":contenttype ", ":anychild :type ", ":param \"charset\" "}), genKeys(r, false))
		case 5:
			return fmt.Sprintf("exists :mime :anychild \"%s\"", pick(r, []string{"content-disposition", "content-type", "x-none"}))
		}
		return fmt.Sprintf("address :regex %s\"%s\" \"%s\"", pick(r, []string{"", ":domain ", ":localpart "}), pick(r, rndAddrHdr), pick(r, []string{"^[a-z]+$", "example", "\\.(com|net)$", "^$"}))
	case 12:
		switch r.IntN(5) {
		case 0:
			return fmt.Sprintf("spamtest %s%s\"%d\"", pick(r, []string{"", ":percent "}), pick(r, []string{":value \"ge\" :comparator \"i;ascii-numeric\" ", ":is ", ":value \"lt\" :comparator \"i;ascii-numeric\" "}), r.IntN(11)*pick(r, []int{1, 10}))
		case 1:
			return fmt.Sprintf("virustest :value \"%s\" :comparator \"i;ascii-numeric\" \"%d\"", pick(r, []string{"eq", "ge", "lt"}), r.IntN(6))
		case 2:
			return fmt.Sprintf("header :contains \"subject\" \"${hex:%02x}\"", pick(r, []int{'a', 'e', 'I', '[', 0xc3}))
		case 3:
			return fmt.Sprintf("envelope :all :count \"%s\" :comparator \"i;ascii-numeric\" [\"from\", \"to\"] \"%d\"", pick(r, []string{"eq", "ge"}), r.IntN(3))
		}
		return fmt.Sprintf("currentdate :value \"%s\" \"year\" \"2000\"", pick(r, []string{"gt", "lt"}))
	}
	return fmt.Sprintf("hasflag %s", genKeys(r, false))
}

func genAction(r *rand.Rand) string {
	switch r.IntN(12) {
	case 0, 1:
		return fmt.Sprintf("fileinto \"%s\";", pick(r, rndBoxes))
	case 2:
		return fmt.Sprintf("fileinto :copy :flags \"%s\" \"%s\";", pick(r, rndFlags), pick(r, rndBoxes))
	case 3:
		return "keep;"
	case 4:
		return fmt.Sprintf("keep :flags [\"%s\", \"%s\"];", pick(r, rndFlags), pick(r, rndFlags))
	case 5:
		return "discard;"
	case 6:
		return fmt.Sprintf("redirect \"%s@example.net\";", pick(r, []string{"a", "b", "c"}))
	case 7:
		return fmt.Sprintf("addflag \"%s\";", pick(r, rndFlags))
	case 8:
		return fmt.Sprintf("removeflag \"%s\";", pick(r, rndFlags))
	case 9:
		return fmt.Sprintf("setflag \"%s\";", pick(r, rndFlags))
	case 10:
		return "fileinto \"m-${1}\";"
	case 11:
		switch r.IntN(6) {
		case 0:
			return fmt.Sprintf("set %s\"%s\" \"%s${1}\";", pick(r, []string{"", ":lower ", ":upper ", ":length ", ":quotewildcard "}), pick(r, []string{"v", "w"}), pick(r, rndKeys))
		case 1:
			return fmt.Sprintf("vacation %s \"%s\";", pick(r, []string{":days 2", ":seconds 60", ":addresses [\"me@example.com\"] :days 1", ":subject \"away ${v}\"", ":from \"me@example.com\""}), pick(r, []string{"away", "gone ${v}"}))
		case 2:
			return pick(r, []string{"reject \"no thanks\";", "reject text:\nNo ${hex:41}\n..thanks\n.\n;"})
		case 3:
			return fmt.Sprintf("addheader \"X-Tag\" \"%s\";", pick(r, rndKeys))
		case 4:
			return fmt.Sprintf("deleteheader \"%s\";", pick(r, rndHeaders))
		}
		return "foreverypart { if header :mime :subtype \"content-type\" [\"html\", \"pdf\"] { fileinto \"part-${1}\"; break; } }"
	}
	return "stop;"
}

func genBlock(r *rand.Rand, depth int) string {
	var b strings.Builder
	for k := 0; k < 1+r.IntN(3); k++ {
		if depth < 2 && r.IntN(2) == 0 {
			fmt.Fprintf(&b, "if %s {\n%s}\n", genTest(r, 0), genBlock(r, depth+1))
			if r.IntN(2) == 0 {
				fmt.Fprintf(&b, "elsif %s {\n%s}\n", genTest(r, 0), genBlock(r, depth+1))
			}
			if r.IntN(2) == 0 {
				fmt.Fprintf(&b, "else {\n%s}\n", genBlock(r, depth+1))
			}
			continue
		}
		b.WriteString(genAction(r) + "\n")
	}
	return b.String()
}

func genScript(r *rand.Rand) string {
	return `require ["fileinto", "imap4flags", "copy", "variables", "relational", "comparator-i;ascii-numeric", "envelope", "subaddress", "body", "date", "index", "regex", "mime", "foreverypart", "vacation", "reject", "editheader", "spamtestplus", "virustest", "encoded-character", "vacation-seconds"];` + "\n" + genBlock(r, 0)
}
