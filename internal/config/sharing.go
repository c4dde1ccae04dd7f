package config

// Sharing is the [sharing] section: the namespaces of RFC 2342 in which
// mailboxes shared through RFC 4314 ACLs appear (docs/sharing.md).
type Sharing struct {
	// OtherUsers is the prefix under which a user sees the mailboxes
	// other users share with them: "Other Users" shows bob's Folder as
	// "Other Users/bob/Folder". Default "Other Users".
	OtherUsers string `toml:"other_users"`
	// Public is the prefix of the public mailboxes, owned by the server
	// and created with `barid mailbox create --shared NAME`. Default
	// "Shared".
	Public string `toml:"public"`
}
