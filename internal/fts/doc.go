// Package fts keeps the full-text index of SEARCH BODY and TEXT
// (RFC 9051 §6.4.4) up to date: it reads the message contents the store
// lists as pending (store.TextIndexer), computes the text SEARCH compares
// (msgdata.Text: decoded text parts, decoded headers, attachment file
// names, folded with i;unicode-casemap, RFC 5051) and hands it to the
// store, which keeps it in an FTS5 trigram table (SQLite) or a pg_trgm
// GIN index (PostgreSQL). docs/search.md has the design and the numbers
// it was chosen by.
//
// The index only narrows: a message not yet indexed is always a
// candidate, and every candidate is verified by the scan, so answers
// stay those of the scan while the index catches up (after delivery, or
// after an upgrade of a data folder that had none).
package fts
