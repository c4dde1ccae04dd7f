package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"barid/internal/admin"
	"barid/internal/app"
	"barid/internal/mailbox"
	"barid/internal/store"
)

const mailboxSharingUsage = `Usage: barid mailbox <create|setacl|getacl|sharedseen> [--data DIR] [--config FILE] [--shared | --user NAME] ARGS

  create NAME                       create a mailbox (and missing parents)
  setacl NAME IDENTIFIER RIGHTS     set an RFC 4314 ACL entry: RIGHTS as "lr",
                                    "+w" or "-w"; "" removes the entry
  getacl NAME                       print the ACL
  sharedseen NAME on|off            on: \Seen is shared by every user of the
                                    mailbox; off (the default): each user
                                    other than the owner has their own
                                    (METADATA /shared/vendor/cmu/cyrus-imapd/sharedseen)

--shared works on the public namespace (Shared/NAME in IMAP), owned by
the server; --user on that user's own mailboxes. Identifiers are user
names, anyone, authenticated, $group, and any of them with "-" for
negative rights (docs/sharing.md).
`

const groupUsage = `Usage: barid group <add|del|list> [--data DIR] [--config FILE] [GROUP USER]

  add GROUP USER   make USER a member of GROUP ($GROUP in ACLs)
  del GROUP USER   remove USER from GROUP
  list             list members (stored and from [groups] in the config)

add and del go through the running server when one answers on the
control socket, so that its sessions whose rights change hear it at
once (docs/sharing.md "Live changes").
`

// sharedSeenEntry is the mailbox METADATA entry that makes \Seen shared
// (internal/imap/server/privseen.go; Cyrus's sharedseen annotation).
const sharedSeenEntry = "/shared/vendor/cmu/cyrus-imapd/sharedseen"

// openSharing parses the common flags and opens the data folder.
func openSharing(ctx context.Context, name, usage string, args []string, stdout, stderr io.Writer, extra func(*flag.FlagSet)) (*app.Data, *mailbox.Service, []string, int) {
	fs, df := dataFlagSet(name, usage, stderr)
	if extra != nil {
		extra(fs)
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, nil, flagErr(err)
	}
	d, cfg, err := df.openData(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return nil, nil, nil, 1
	}
	return d, app.MailboxService(&cfg, d.Store, nil), rest, -1
}

// runMailboxSharing runs the ACL verbs of "barid mailbox" (setacl,
// getacl) and "create --shared" (runMailbox hands them here).
func runMailboxSharing(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, mailboxSharingUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	var shared bool
	var user string
	d, svc, rest, rc := openSharing(ctx, "mailbox "+verb, mailboxSharingUsage, args[1:], stdout, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&shared, "shared", false, "the public namespace (owned by the server)")
		fs.StringVar(&user, "user", "", "the account whose mailbox it is")
	})
	if rc >= 0 {
		return rc
	}
	defer d.Close()
	want := map[string]int{"create": 1, "setacl": 3, "getacl": 1, "sharedseen": 2}[verb]
	if want == 0 {
		fmt.Fprintf(stderr, "barid mailbox: unknown verb %q\n", verb)
		return 2
	}
	if len(rest) != want || shared == (user != "") {
		fmt.Fprintf(stderr, "barid mailbox %s: expected --shared or --user NAME and %d argument(s)\n", verb, want)
		return 2
	}
	owner := user
	if shared {
		owner = mailbox.PublicAccountName
	}
	acct, err := d.Store.Account(ctx, store.NormalizeAccountName(owner))
	if errors.Is(err, store.ErrNoAccount) && shared {
		// The public namespace's owner: no password, nobody logs in.
		acct, err = d.Store.CreateAccount(ctx, mailbox.PublicAccountName, nil)
	}
	if err != nil {
		fmt.Fprintln(stderr, "barid:", describe(err, owner))
		return 1
	}
	name, err := mailbox.Normalize(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	switch verb {
	case "create":
		if _, err := svc.CreateOwned(ctx, acct.ID, name, ""); err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		fmt.Fprintf(stdout, "created mailbox %s\n", name)
	case "setacl":
		if err := svc.SetACLOwned(ctx, acct.ID, name, rest[1], rest[2]); err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
	case "sharedseen":
		// the METADATA entry the IMAP server reads (privseen.go), as
		// the owner would set it with SETMETADATA
		var v []byte
		switch rest[1] {
		case "on":
			v = []byte("true")
		case "off":
		default:
			fmt.Fprintf(stderr, "barid mailbox sharedseen: expected on or off, not %q\n", rest[1])
			return 2
		}
		mb, err := d.Store.Mailbox(ctx, acct.ID, name)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		ms, ok := d.Store.(store.Metadata)
		if !ok {
			fmt.Fprintln(stderr, "barid: the store keeps no metadata")
			return 1
		}
		if err := ms.SetMetadata(ctx, acct.ID, mb.ID, []store.MetadataEntry{{Name: sharedSeenEntry, Value: v}}, store.MetadataLimits{}); err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		fmt.Fprintf(stdout, "sharedseen %s on %s\n", rest[1], name)
	case "getacl":
		mb, err := d.Store.Mailbox(ctx, acct.ID, name)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		entries, err := d.Store.(store.ACLStore).ACL(ctx, mb.ID)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		for _, e := range entries {
			fmt.Fprintf(stdout, "%s %s\n", e.Identifier, e.Rights)
		}
	}
	return 0
}

func runGroup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, groupUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	if verb == "add" || verb == "del" {
		// Through the running server when one answers, so that its
		// sessions hear the change at once (docs/sharing.md "Live
		// changes"); else on the data folder below.
		if rc, done := groupViaServer(args, stderr); done {
			return rc
		}
	}
	d, svc, rest, rc := openSharing(ctx, "group "+verb, groupUsage, args[1:], stdout, stderr, nil)
	if rc >= 0 {
		return rc
	}
	defer d.Close()
	switch verb {
	case "add", "del":
		if len(rest) != 2 {
			fmt.Fprintf(stderr, "barid group %s: expected GROUP USER\n", verb)
			return 2
		}
		if err := svc.SetGroupMember(ctx, rest[0], rest[1], verb == "add"); err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
	case "list":
		ms, err := svc.GroupMembers(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "barid:", err)
			return 1
		}
		for _, m := range ms {
			fmt.Fprintf(stdout, "$%s %s\n", m.Group, m.Account)
		}
	default:
		fmt.Fprintf(stderr, "barid group: unknown verb %q\n", verb)
		return 2
	}
	return 0
}

// groupViaServer runs "barid group add|del" over the running server's
// control socket (op group.set). done is false when no server answers
// (or the arguments are for runGroup to refuse): the caller then works
// on the data folder.
func groupViaServer(args []string, stderr io.Writer) (rc int, done bool) {
	fs, df := dataFlagSet("group "+args[0], groupUsage, io.Discard)
	rest, err := parseArgs(fs, args[1:])
	if err != nil || len(rest) != 2 {
		return 0, false
	}
	cfg, err := df.load()
	if err != nil {
		return 0, false
	}
	path := cfg.ControlSocket()
	if path == "" {
		return 0, false
	}
	cl, err := admin.Dial(path)
	if err != nil {
		return 0, false
	}
	defer cl.Close()
	resp, err := cl.Call(admin.Request{Op: "group.set", Group: rest[0], User: rest[1], Add: args[0] == "add"})
	if err == nil && !resp.OK {
		err = errors.New(resp.Error)
	}
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1, true
	}
	return 0, true
}
