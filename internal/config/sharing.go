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
	// ACL turns RFC 4314 access control on (the default). false turns
	// sharing off altogether, as a server without an ACL plugin: no
	// other users' or public namespace, no ACL read on any path, SETACL
	// and DELETEACL refused; every user has every right on their own
	// mailboxes and nothing else. For measuring what the checks cost
	// (docs/benchmarks.md) and for sites that never share.
	ACL bool `toml:"acl"`
}
