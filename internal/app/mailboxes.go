package app

import (
	"barid/internal/config"
	"barid/internal/mailbox"
	"barid/internal/notify"
	"barid/internal/store"
)

// MailboxService builds the mailbox service (names, namespaces, ACL
// rights) from the configuration; bus may be nil for tools.
func MailboxService(cfg *config.Config, st store.Store, bus *notify.Bus) *mailbox.Service {
	return mailbox.New(mailbox.Config{
		Store:      st,
		Bus:        bus,
		OtherUsers: cfg.Sharing.OtherUsers,
		Public:     cfg.Sharing.Public,
		Groups:     cfg.Groups,
		NoACL:      !cfg.Sharing.ACL,
	})
}
