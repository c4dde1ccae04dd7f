// Package pgtest gives tests a fresh PostgreSQL database each, on the
// server named by the environment variable BARID_TEST_POSTGRES (a URL
// such as postgres://barid:pw@127.0.0.1:5432/postgres?sslmode=disable,
// with a role that may CREATE DATABASE). scripts/ci-postgres starts a
// private server and exports the variable; without it the tests that
// need PostgreSQL skip with a message saying so.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the server the tests use.
const EnvVar = "BARID_TEST_POSTGRES"

// Available reports whether EnvVar is set.
func Available() bool { return os.Getenv(EnvVar) != "" }

// Database creates an empty database for the test and returns its URL;
// the database is dropped when the test ends. Each call makes a new one,
// so tests run in parallel without seeing each other. It skips the test
// when EnvVar is unset.
func Database(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvVar)
	if admin == "" {
		t.Skipf("PostgreSQL tests need %s=postgres://USER:PASS@HOST:PORT/DB (scripts/ci-postgres starts a private server and sets it)", EnvVar)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "barid_t_" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", u.Redacted(), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
