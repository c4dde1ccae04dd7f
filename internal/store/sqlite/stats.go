package sqlite

// CacheStats counts the answers of the in-memory caches since Open
// (exported as Prometheus counters by the app, docs/operations.md).
type CacheStats struct {
	// FlagIndexHits counts flag-index consultations answered from
	// memory; FlagIndexMisses those of a mailbox large enough to be
	// indexed that had to be loaded (or reloaded after a change made
	// elsewhere) first. Zero when the index is off.
	FlagIndexHits, FlagIndexMisses int64
	// RecordHits and RecordMisses count message records (ENVELOPE,
	// BODYSTRUCTURE, sizes, dates) found in, or read into, the record
	// cache. Zero when the cache is off.
	RecordHits, RecordMisses int64
	// FlagIndexEntries is the number of messages the flag index holds
	// (capped by storage.flag_index_entries) and FlagIndexBytes what
	// their entries take (flagIndexEntryBytes each, keyword lists
	// aside); RecordBytes is the record cache's charge against
	// storage.record_cache_bytes. Together: the server's memory for
	// large mailboxes, bounded by those two settings.
	FlagIndexEntries, FlagIndexBytes, RecordBytes int64
}

// flagIndexEntryBytes is one message's share of the flag index: its UID
// (4 bytes) and its flagEnt (24).
const flagIndexEntryBytes = 4 + 24

// CacheStats returns the cache counters and sizes: a few atomic loads and
// two short locks.
func (s *Store) CacheStats() CacheStats {
	var st CacheStats
	if x := s.index; x != nil {
		st.FlagIndexHits, st.FlagIndexMisses = x.hits.Load(), x.misses.Load()
		x.mu.Lock()
		st.FlagIndexEntries = int64(x.entries)
		x.mu.Unlock()
		st.FlagIndexBytes = st.FlagIndexEntries * flagIndexEntryBytes
	}
	if c := s.recs; c != nil {
		st.RecordHits, st.RecordMisses = c.hits.Load(), c.misses.Load()
		c.mu.Lock()
		st.RecordBytes = int64(c.bytes)
		c.mu.Unlock()
	}
	return st
}
