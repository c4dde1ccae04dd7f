// Package tiered is the blob.Store the server reads message bytes
// through when small messages live in the metadata database: Open looks
// for the blob there first (store/sqlite's blobdata table, filled in the
// transaction that adds the message row) and then in the file store
// (blob/fs). Create, Delete and List concern the file store only: inline
// bytes are written and deleted by the metadata store's own transactions,
// never through this interface (docs/delivery.md "Small messages").
package tiered
