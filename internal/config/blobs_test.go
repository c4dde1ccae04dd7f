package config

import (
	"strings"
	"testing"
)

// storage.blobs: empty (blobs/ in data_dir), file:///PATH or s3://...;
// anything else is refused naming the key, never echoing the value.
func TestStorageBlobs(t *testing.T) {
	for _, ok := range []string{"", "file:///srv/barid-blobs", "s3://mail?endpoint=http://127.0.0.1:9000&region=us-east-1", "s3://mail/prefix"} {
		c := Default()
		c.Storage.Blobs = ok
		if err := c.Validate(); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
		if got := c.SharedBlobs(); got != (ok != "") {
			t.Errorf("%q: SharedBlobs = %v", ok, got)
		}
	}
	for _, bad := range []string{"file://relative/hunter2", "/srv/hunter2", "gs://hunter2", "s3://key:hunter2@mail?endpoint=http://h:1"} {
		c := Default()
		c.Storage.Blobs = bad
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "storage.blobs") {
			t.Errorf("%q: want a storage.blobs error, got %v", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error echoes the value: %v", bad, err)
		}
	}
	c := Default()
	c.Storage.S3AccessKey = "id"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "storage.s3_secret_key") {
		t.Errorf("access key without secret: %v", err)
	}
	if p, ok := BlobsFolder("file:///srv/b"); !ok || p != "/srv/b" {
		t.Errorf("BlobsFolder = %q, %v", p, ok)
	}
}
