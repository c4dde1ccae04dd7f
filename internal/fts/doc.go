// Package fts keeps the full-text index of SEARCH BODY and TEXT
// (RFC 9051 §6.4.4) up to date: it reads the message contents the store
// lists as pending (store.TextIndexer), computes the text SEARCH compares
// (msgdata.TextSplit: decoded text parts, decoded headers, attachment
// file names, folded with i;unicode-casemap, RFC 5051, cut into what BODY
// compares and what TEXT adds) and hands it to the store, which keeps it
// in an FTS5 trigram table and two word tables (SQLite) or a pg_trgm GIN
// index over the stored text (PostgreSQL). docs/search.md has the design
// and the numbers it was chosen by.
//
// A message not yet indexed is always a candidate and never a sure
// match, and every candidate the index cannot decide is verified by the
// scan, so answers stay those of the scan while the index catches up
// (after delivery, or after an upgrade of a data folder).
package fts
