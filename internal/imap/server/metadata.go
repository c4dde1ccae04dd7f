package server

import "barid/internal/store"

// MetadataConfig is [metadata]: RFC 5464's limits, each named in the
// error it causes.
type MetadataConfig struct {
	// MaxSize is the largest entry value in bytes ([METADATA MAXSIZE n]).
	MaxSize int64
	// MaxEntries is the most entries one mailbox may have, as one user
	// sees it ([METADATA TOOMANY]).
	MaxEntries int
	// MaxServerEntries is the same for one account's server entries.
	MaxServerEntries int
	// MaxTotalSize bounds the sum of the values of one scope.
	MaxTotalSize int64
}

func (c *Conn) metadataStore() store.Metadata {
	m, _ := c.srv.cfg.Store.(store.Metadata)
	return m
}

// metadataCapabilities: RFC 5464 §1: METADATA (mailbox and server
// entries) and METADATA-SERVER (server entries).
func (c *Conn) metadataCapabilities() []string {
	if c.metadataStore() == nil {
		return nil
	}
	return []string{"METADATA", "METADATA-SERVER"}
}
