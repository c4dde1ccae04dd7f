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
}

// CacheStats returns the cache counters: a few atomic loads.
func (s *Store) CacheStats() CacheStats {
	var st CacheStats
	if x := s.index; x != nil {
		st.FlagIndexHits, st.FlagIndexMisses = x.hits.Load(), x.misses.Load()
	}
	if c := s.recs; c != nil {
		st.RecordHits, st.RecordMisses = c.hits.Load(), c.misses.Load()
	}
	return st
}
