// Package s3 is a blob.Store in an S3-compatible object store (AWS S3,
// MinIO, SeaweedFS, versitygw, Ceph RGW, Garage...), through minio-go
// v7, so that several barid nodes share the message bytes
// (docs/scale-out.md).
//
// Layout in the bucket, under an optional key prefix:
//
//	PREFIX/blob/<sha256 hex>   a committed blob, content-addressed as blob/fs
//	PREFIX/tmp/<random>        a large blob being streamed (multipart upload)
//	PREFIX/trash/<sha256 hex>  a blob the orphan sweep took away
//
// Durability (internal/blob's contract): Commit returns only after the
// object store has accepted the whole object under blob/<id>: the PUT
// (or CompleteMultipartUpload and the server-side copy from tmp/) has
// answered 200. The metadata transaction runs after that, so a crash
// leaves at worst an orphan object, never a row without bytes.
//
// Writes: a blob of up to PartSize bytes is held in memory and sent in
// one PUT to its final key. A larger one is streamed as it arrives, in
// parts of PartSize bytes, to a multipart upload under tmp/, hashed on
// the way; Commit completes the upload, copies the object on the server
// to blob/<sha256> and deletes the tmp/ object. A writer holds at most
// about two parts in memory, whatever the message's size.
//
// Checksums: by default every PUT and every part carries Content-MD5
// and no trailing checksum (no aws-chunked trailer, no x-amz-checksum-*
// CRC32/CRC64NVME headers, which the current AWS SDKs add by default and
// which some S3-compatible servers refuse); see Checksum.
//
// The orphan sweep never deletes a blob outright: DeleteIfOlder moves it
// to trash/ (copy, then delete), Open finds a trashed blob and puts it
// back, and PurgeTrash deletes a trashed blob only once it has stayed
// there for the sweep's grace period and no message references it, and
// restores it otherwise. So a delivery on another node that reuses the
// same content while a sweep takes it away (S3 has no lock nor, on most
// servers, conditional delete that could order the two) keeps its bytes.
package s3
