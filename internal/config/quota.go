package config

// Quota is the [quota] section (RFC 9208). Usage is always kept; these
// are the limits. A per-account override (`barid user quota`) wins over
// them.
type Quota struct {
	// Storage is the default storage limit in bytes (the sum of
	// RFC822.SIZE of an account's messages); 0 = unlimited. IMAP shows
	// it in units of 1024 octets (RFC 9208 §5.1).
	Storage int64 `toml:"storage"`
	// Messages is the default limit on the number of messages of an
	// account (RFC 9208 §5.2); 0 = unlimited.
	Messages int64 `toml:"messages"`
	// Admins are the accounts that may use SETQUOTA and read or set any
	// account's quota root ("user/NAME"). Nobody else may change a
	// limit over IMAP; `barid user quota` always can.
	Admins []string `toml:"admins"`
	// Enforce turns the limits on (the default). false refuses nothing
	// for quota and reports no limits; usage is still kept, so turning
	// them on again needs no recount (docs/sharing.md).
	Enforce bool `toml:"enforce"`
}

// Metadata is the [metadata] section (RFC 5464 IMAP METADATA). Each
// limit is announced or named in its error.
type Metadata struct {
	// MaxSize is the largest value of one entry in bytes; a larger
	// SETMETADATA fails with [METADATA MAXSIZE n] (RFC 5464 §4.3).
	MaxSize int64 `toml:"max_size"`
	// MaxEntries is the most entries one mailbox may have (private and
	// shared together, per user); more fail with [METADATA TOOMANY].
	MaxEntries int `toml:"max_entries"`
	// MaxServerEntries is the same for the server entries of one
	// account (private) or of the server (shared).
	MaxServerEntries int `toml:"max_server_entries"`
	// MaxTotalSize bounds the sum of the value sizes of one mailbox's
	// (or the server's) entries; more fail with [METADATA TOOMANY].
	MaxTotalSize int64 `toml:"max_total_size"`
}

// DefaultMetadata are the built-in [metadata] limits.
func DefaultMetadata() Metadata {
	return Metadata{MaxSize: 64 << 10, MaxEntries: 100, MaxServerEntries: 100, MaxTotalSize: 1 << 20}
}

func (c *Config) validateQuotaMetadata(add func(string, ...any)) {
	if c.Quota.Storage < 0 {
		add("quota.storage must not be negative (0 = unlimited)")
	}
	if c.Quota.Messages < 0 {
		add("quota.messages must not be negative (0 = unlimited)")
	}
	m := c.Metadata
	if m.MaxSize < 1 {
		add("metadata.max_size must be at least 1")
	}
	if m.MaxEntries < 1 {
		add("metadata.max_entries must be at least 1")
	}
	if m.MaxServerEntries < 1 {
		add("metadata.max_server_entries must be at least 1")
	}
	if m.MaxTotalSize < m.MaxSize {
		add("metadata.max_total_size must be at least metadata.max_size")
	}
}
