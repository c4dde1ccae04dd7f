// Package fs is the embedded default blob.Store: one file per blob under
// a directory, named by the SHA-256 of its content in lower-case hex and
// sharded one level deep as dir/ab/<hex> (256 folders made at Open).
//
// Durability (internal/blob's contract): a Writer writes to dir/tmp/, and
// Commit fsyncs the file, renames it into place and fsyncs the shard
// directory before returning. Identical content is stored once. IDs are
// checked to be 64 lower-case hex digits before any path is built, so no
// ID can name a file outside the directory. Files are created 0600 and
// directories 0700.
package fs
