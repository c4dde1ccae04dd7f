package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"barid/internal/store"
	"barid/internal/store/postgres/pgtest"
)

// TestSQLSource: users in a PostgreSQL table, read with a password query
// and a user query (as [auth.sql] configures them), log in, are found
// by their addresses, and a database that does not answer is an outage.
func TestSQLSource(t *testing.T) {
	if !pgtest.Available() {
		t.Skip("BARID_TEST_POSTGRES not set: no PostgreSQL server")
	}
	dsn := pgtest.Database(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE TABLE users (login text PRIMARY KEY, pass text, quota bigint, active boolean)`,
		`CREATE TABLE addresses (address text PRIMARY KEY, login text NOT NULL)`,
		`INSERT INTO users VALUES ('alice', '{SSHA512}RMAHJycOPzoN2jJRJ1Ja745WMQZZ1AyY6RYcf+lYUfDTQAGigoCudGuVVy5rN5efT1JBVIGZrlnWWo3i1inSFWG0CWY=', 1048576, true)`,
		`INSERT INTO users VALUES ('bob', '{PLAIN}bob-pw', NULL, false)`,
		`INSERT INTO addresses VALUES ('alice@example.org', 'alice'), ('info@example.org', 'alice')`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cfg := SQLConfig{DSN: dsn,
		PasswordQuery: `SELECT u.login AS "user", u.pass AS password, u.active AS enabled, u.quota AS quota_bytes
			FROM users u LEFT JOIN addresses a ON a.login = u.login WHERE u.login = lower($1) OR a.address = lower($1) LIMIT 1`,
		UserQuery: `SELECT u.login AS "user", u.active AS enabled, u.quota AS quota_bytes
			FROM users u LEFT JOIN addresses a ON a.login = u.login WHERE u.login = lower($1) OR a.address = lower($1) LIMIT 1`,
		Timeout: 3 * time.Second}
	s, err := NewSQL(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.Authenticate(ctx, "Alice@example.org", "secret")
	if err != nil || u.Name != "alice" || u.QuotaBytes != 1<<20 || u.Disabled {
		t.Fatalf("alice: %+v %v", u, err)
	}
	if _, err := s.Authenticate(ctx, "alice", "wrong"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := s.Authenticate(ctx, "nobody", "x"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := s.Authenticate(ctx, "' OR '1'='1", "x"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("quote in the name: %v", err)
	}
	if u, err := s.Lookup(ctx, "info@example.org"); err != nil || u.Name != "alice" {
		t.Errorf("lookup info@: %+v %v", u, err)
	}
	st := openTestStore(t)
	a, d := newDirAuth(t, st, nil, s)
	if _, err := a.Plain(ctx, testRemote, "bob", "bob-pw"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("disabled bob: %v", err)
	}
	id, err := a.Plain(ctx, testRemote, "alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	if acct, err := d.FindAccount(ctx, "info@example.org"); err != nil || acct.ID != id {
		t.Errorf("FindAccount(info@) = %+v %v", acct, err)
	}
	if _, err := d.FindAccount(ctx, "bob"); !errors.Is(err, store.ErrNoAccount) {
		t.Errorf("FindAccount(disabled bob) = %v", err)
	}

	// A database that is not there: an outage.
	bad, err := NewSQL(ctx, SQLConfig{DSN: "postgres://x:y@127.0.0.1:1/none?sslmode=disable", PasswordQuery: cfg.PasswordQuery,
		UserQuery: cfg.UserQuery, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	a2, d2 := newDirAuth(t, st, bad, nil)
	if _, err := a2.Plain(ctx, testRemote, "alice", "secret"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("login with the database down: %v", err)
	}
	if _, err := d2.FindAccount(ctx, "alice"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("lookup with the database down: %v", err)
	}
}
