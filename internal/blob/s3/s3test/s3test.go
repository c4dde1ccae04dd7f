// Package s3test gives tests an S3 blob store URL of their own: the
// bucket BARID_TEST_S3 names (scripts/ci-s3 starts a server and exports
// it with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) under a fresh key
// prefix, so tests run in parallel on one bucket without seeing each
// other's blobs.
package s3test

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
)

// Env is the variable that names the test server's bucket:
// s3://BUCKET?endpoint=http://HOST:PORT&region=R.
const Env = "BARID_TEST_S3"

// URL returns BARID_TEST_S3 with a fresh key prefix, or skips the test
// when it is unset.
func URL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(Env)
	if raw == "" {
		t.Skip(Env + " is not set: no S3-compatible server to test against (scripts/ci-s3 starts one; .ci/run sources it)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	u.Path = "/t-" + hex.EncodeToString(rnd[:]) + "/"
	return u.String()
}
