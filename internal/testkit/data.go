package testkit

import (
	"context"
	"testing"

	"barid/internal/app"
	"barid/internal/config"
)

// Data is a data folder opened as `barid serve` opens it (app.OpenData:
// the metadata store, the blob files behind blob/tiered, small messages
// inline), without any listener: for a package test that builds its own
// protocol server on the real backends (internal/lmtp's unit fixture).
type Data struct {
	*app.Data
	Dir string
	Cfg config.Config
}

// OpenData opens a fresh data folder in t.TempDir() with the defaults
// of config.Default, changed by opts. Its metadata is in SQLite, or in
// PostgreSQL with WithPostgres or BARID_TEST_METADATA=postgres. The
// stores close when the test ends, after the cleanups registered later
// (the test's servers) have run.
func OpenData(t testing.TB, opts ...Option) *Data {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	for _, o := range opts {
		o(&cfg)
	}
	ApplyMetadataEnv(t, &cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := app.OpenData(context.Background(), &cfg, Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &Data{Data: d, Dir: cfg.DataDir, Cfg: cfg}
}
