package app

import (
	"barid/internal/config"
	"barid/internal/imap/server"
	"barid/internal/store"
)

// applyQuotaDefaults hands the [quota] default limits to the metadata
// store, which enforces them in its write transactions (RFC 9208).
func applyQuotaDefaults(cfg *config.Config, st store.Store) {
	if q, ok := st.(store.Quotas); ok {
		q.SetQuotaDefaults(store.QuotaLimits{Storage: cfg.Quota.Storage, Messages: cfg.Quota.Messages})
		q.SetQuotaEnforced(cfg.Quota.Enforce)
	}
}

// imapMetadataConfig is [metadata] for the IMAP server (RFC 5464).
func imapMetadataConfig(m config.Metadata) server.MetadataConfig {
	return server.MetadataConfig{MaxSize: m.MaxSize, MaxEntries: m.MaxEntries,
		MaxServerEntries: m.MaxServerEntries, MaxTotalSize: m.MaxTotalSize}
}
