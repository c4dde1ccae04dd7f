package testkit

import (
	"testing"

	"barid/internal/blob/s3/s3test"
	"barid/internal/config"
)

// WithBlobs selects the store of message bytes by URL ([storage]
// blobs): "" for the data folder's blobs/, "file:///PATH" or
// "s3://BUCKET[/PREFIX]?endpoint=...".
func WithBlobs(url string) Option { return func(c *config.Config) { c.Storage.Blobs = url } }

// WithS3 keeps the server's message bytes in the test S3 server's bucket
// under a fresh prefix (s3test.URL); it skips the test when
// BARID_TEST_S3 is unset. Credentials come from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, which scripts/ci-s3 exports with it.
func WithS3(t testing.TB) Option {
	t.Helper()
	return WithBlobs(s3test.URL(t))
}
