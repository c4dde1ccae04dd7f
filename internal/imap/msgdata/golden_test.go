package msgdata_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/imap/msgdata"
	"barid/internal/imap/msgdata/goldenfile"
	"barid/internal/mail/mime"
)

// knownDifferences lists golden items barid answers differently on
// purpose; testdata/mime/DIFFERENCES.md gives the reasons.
var knownDifferences = map[string]string{}

// TestGolden compares barid's rendering of every recorded FETCH item with
// what Dovecot 2.3 answered for the same message (testdata/mime; see
// testdata/mime/README.md to regenerate).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("../../../testdata/mime/*.eml")
	if err != nil || len(files) < 40 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	total, same := 0, 0
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".eml"), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			gf, err := os.Open(strings.TrimSuffix(f, ".eml") + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			defer gf.Close()
			want, err := goldenfile.Read(gf)
			if err != nil {
				t.Fatal(err)
			}
			m, err := goldenfile.Load(raw, mime.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range want {
				total++
				got := m.Render(w.Name)
				if goldenfile.Equal(w, got) {
					same++
					continue
				}
				if kind, ok := knownDifferences[name+" "+w.Name]; ok && w.Kind == kind {
					continue
				}
				t.Errorf("%s %s:\n dovecot %s %.300s\n barid   %s %.300s", name, w.Name,
					w.Kind, goldenfile.Escape(w.Value), got.Kind, goldenfile.Escape(got.Value))
			}
		})
	}
	t.Logf("%d/%d golden items identical to Dovecot", same, total)
}

// The BODYSTRUCTURE rendered at delivery (kept in the structure's annex)
// is byte for byte what rendering the stored tree gives, for every message
// of the corpus: messages stored without it, or by another version, are
// answered from the tree.
func TestBodyStructureAnnexMatchesTree(t *testing.T) {
	files, err := filepath.Glob("../../../testdata/mime/*.eml")
	if err != nil || len(files) < 40 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		a, err := msgdata.Analyze(bytes.NewReader(raw), mime.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := mime.Annex(a.Structure, 0); !ok {
			t.Fatalf("%s: no rendered BODYSTRUCTURE stored", f)
		}
		cached, err := msgdata.BodyStructure(a.Structure, true)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := msgdata.BodyStructure(a.Root.Marshal(), true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cached, fresh) {
			t.Errorf("%s:\n stored %.300s\n tree   %.300s", filepath.Base(f), cached, fresh)
		}
	}
}
