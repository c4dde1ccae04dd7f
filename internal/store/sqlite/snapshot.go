package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
)

// Snapshot writes a consistent copy of the database file at src to dst
// with VACUUM INTO (https://sqlite.org/lang_vacuum.html#vacuuminto). It
// uses a connection of its own: the copy is one read transaction, so in
// WAL mode the running server's writer (deliveries) carries on while it
// is taken, and dst holds exactly the transactions committed before it
// began. dst must not exist; it is created 0600.
func Snapshot(ctx context.Context, src, dst string) error {
	abs, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return err
	}
	db, err := sql.Open(driverName, "file:"+(&url.URL{Path: abs}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// The new file gets the process umask; create it first so it is
	// 0600 like the database itself (VACUUM INTO accepts an empty file).
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		os.Remove(dst)
		return fmt.Errorf("VACUUM INTO %s: %w", dst, err)
	}
	return nil
}
