package filter_test

import (
	"context"
	"path/filepath"
	"testing"

	"barid/internal/store/sqlite"
)

// BenchmarkActiveScriptCheck is what a delivery reads to know whether
// its cached compilation of the 50-rule script is current: the whole
// active script (before) or its name and digest (now).
func BenchmarkActiveScriptCheck(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "meta.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a, err := st.CreateAccount(ctx, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.PutSieveScript(ctx, a.ID, "rules", []byte(rules50()), 0); err != nil {
		b.Fatal(err)
	}
	if err := st.SetActiveSieveScript(ctx, a.ID, "rules"); err != nil {
		b.Fatal(err)
	}
	b.Run("script", func(b *testing.B) {
		for range b.N {
			if sc, err := st.ActiveSieveScript(ctx, a.ID); err != nil || sc == nil {
				b.Fatal(sc, err)
			}
		}
	})
	b.Run("digest", func(b *testing.B) {
		for range b.N {
			if name, _, err := st.ActiveSieveScriptDigest(ctx, a.ID); err != nil || name == "" {
				b.Fatal(name, err)
			}
		}
	})
}
