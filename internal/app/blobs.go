package app

import (
	"context"
	"errors"

	"barid/internal/blob"
	"barid/internal/blob/fs"
	"barid/internal/blob/s3"
	"barid/internal/config"
)

// openBlobs opens the store of message bytes [storage] blobs selects:
// the blobs folder in the data folder (default), a file:///PATH folder
// several nodes share, or an S3-compatible bucket.
func openBlobs(ctx context.Context, cfg *config.Config) (blob.Store, error) {
	b := cfg.Storage.Blobs
	if config.IsS3URL(b) {
		o, err := s3.ParseURL(b)
		if err != nil {
			return nil, err
		}
		o.AccessKey, o.SecretKey = cfg.Storage.S3AccessKey, cfg.Storage.S3SecretKey
		return s3.Open(ctx, o)
	}
	dir := cfg.Path("blobs")
	if b != "" {
		p, ok := config.BlobsFolder(b)
		if !ok {
			return nil, errors.New("storage.blobs must be empty, file:///PATH or s3://BUCKET?endpoint=URL")
		}
		dir = p
	}
	return fs.Open(dir)
}
