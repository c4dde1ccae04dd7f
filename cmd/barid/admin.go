package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"barid/internal/admin"
	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/imap/server"
	"barid/internal/store"
)

// The admin CLI: mailbox, search, expunge, fetch, who, kick
// (internal/admin; docs/operations.md "Admin CLI").
//
// Reads (mailbox list and status, search, fetch) open the data folder
// directly, also while a server runs (SQLite readers do not block its
// writer; PostgreSQL is shared anyway). Writes (mailbox create, delete,
// rename, subscribe; expunge) go through the running server's control
// socket when one answers, so that its sessions learn of them through
// the change bus at once; when none answers they are made on the data
// folder directly. "who" and "kick" need the running server.

// adminFlags are the flags every admin command takes.
type adminFlags struct {
	data, config, metadata, blobs string
	json                          bool
}

func (f *adminFlags) register(fs *flag.FlagSet) {
	f.registerData(fs)
	fs.BoolVar(&f.json, "json", false, "print the result as JSON (one document on standard output)")
}

// registerData adds the flags that say where the data is: --data,
// --config, --metadata and --blobs.
func (f *adminFlags) registerData(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "", "data folder (default ./barid-data or the config's data_dir)")
	fs.StringVar(&f.config, "config", "", "TOML config file")
	fs.StringVar(&f.metadata, "metadata", "", metadataFlagUsage)
	fs.StringVar(&f.blobs, "blobs", "", blobsFlagUsage)
}

// dataFlagSet is the flag set of a command that works on the data folder
// directly (alias, app-password, sieve, index, quota, the mailbox ACL
// verbs): the data flags, the command's usage text, errors to stderr.
func dataFlagSet(name, usage string, stderr io.Writer) (*flag.FlagSet, *adminFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &adminFlags{}
	f.registerData(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, f
}

// openData loads the configuration the flags name and opens its stores.
func (f *adminFlags) openData(ctx context.Context) (*app.Data, config.Config, error) {
	cfg, err := f.load()
	if err != nil {
		return nil, cfg, err
	}
	d, err := app.OpenData(ctx, &cfg, slog.New(slog.DiscardHandler))
	return d, cfg, err
}

func (f *adminFlags) load() (config.Config, error) {
	cfg, err := config.Load(f.config)
	if err != nil {
		return cfg, err
	}
	if f.data != "" {
		cfg.DataDir = f.data
	}
	if f.blobs != "" {
		cfg.Storage.Blobs = f.blobs
	}
	if f.metadata != "" {
		cfg.Storage.Metadata = f.metadata
	}
	return cfg, cfg.Validate()
}

// parseArgs parses flags placed anywhere among the positional
// arguments ("--" ends the flags: everything after it is positional).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		left := fs.Args()
		// flag.Parse consumes a "--" in flag position and stops there;
		// what follows it must not be parsed again.
		if used := args[:len(args)-len(left)]; len(used) > 0 && used[len(used)-1] == "--" &&
			(len(used) < 2 || !wantsValue(fs, used[len(used)-2])) {
			return append(rest, left...), nil
		}
		args = left
		if len(args) > 0 {
			rest = append(rest, args[0])
			args = args[1:]
		}
	}
	return rest, nil
}

// wantsValue reports whether arg is a flag of fs that takes the next
// argument as its value ("-data DIR"; not "-data=DIR", not a bool).
func wantsValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if name == arg || strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// adminCmd is one admin command's parsed invocation.
type adminCmd struct {
	name   string
	flags  adminFlags
	fs     *flag.FlagSet
	args   []string
	cfg    config.Config
	stdout io.Writer
	stderr io.Writer
}

// newAdminCmd parses args; done is set when it has already answered
// (help, a usage error) with the exit status code.
func newAdminCmd(name, usage string, args []string, stdout, stderr io.Writer, extra func(*flag.FlagSet)) (c *adminCmd, code int, done bool) {
	c = &adminCmd{name: name, stdout: stdout, stderr: stderr}
	c.fs = flag.NewFlagSet(name, flag.ContinueOnError)
	c.fs.SetOutput(stderr)
	c.flags.register(c.fs)
	if extra != nil {
		extra(c.fs)
	}
	c.fs.Usage = func() {
		fmt.Fprint(c.fs.Output(), usage, "\nFlags:\n")
		c.fs.PrintDefaults()
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			c.fs.SetOutput(stdout)
			c.fs.Usage()
			return nil, 0, true
		}
	}
	rest, err := parseArgs(c.fs, args)
	if err != nil {
		return nil, flagErr(err), true
	}
	c.args = rest
	cfg, err := c.flags.load()
	if err != nil {
		fmt.Fprintf(stderr, "barid %s: %v\n", name, err)
		return nil, 1, true
	}
	c.cfg = cfg
	return c, 0, false
}

func (c *adminCmd) fail(err error) int {
	fmt.Fprintf(c.stderr, "barid %s: %v\n", c.name, err)
	return 1
}

func (c *adminCmd) usageErr(msg string) int {
	fmt.Fprintf(c.stderr, "barid %s: %s\n\n", c.name, msg)
	c.fs.Usage()
	return 2
}

// dial connects to the running server's control socket, nil when none
// answers.
func (c *adminCmd) dial() *admin.Client {
	path := c.cfg.ControlSocket()
	if path == "" {
		return nil
	}
	cl, err := admin.Dial(path)
	if err != nil {
		return nil
	}
	return cl
}

// direct opens the data folder; the caller closes it.
func (c *adminCmd) direct(ctx context.Context) (*admin.Service, func(), error) {
	d, err := app.OpenData(ctx, &c.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	return &admin.Service{Store: d.Store, Blobs: d.Blobs, Mailboxes: app.MailboxService(&c.cfg, d.Store, nil)}, func() { d.Close() }, nil
}

// write runs a write through the running server when one answers, or
// on the data folder with do.
func (c *adminCmd) write(ctx context.Context, req admin.Request, do func(*admin.Service) (*admin.Response, error)) (*admin.Response, string, error) {
	if cl := c.dial(); cl != nil {
		defer cl.Close()
		resp, err := cl.Call(req)
		return resp, "server", err
	}
	svc, closeFn, err := c.direct(ctx)
	if err != nil {
		return nil, "", err
	}
	defer closeFn()
	resp, err := do(svc)
	return resp, "direct", err
}

func (c *adminCmd) printJSON(v any) {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// --- barid mailbox ---

const mailboxUsage = `Usage: barid mailbox <list|status|create|delete|rename|subscribe|setacl|getacl> [flags] USER [ARGS]

  list USER                 the user's mailboxes with message counts
  status USER MAILBOX       one mailbox's counts, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ
  create USER MAILBOX       create a mailbox and its missing parents
                            (--special-use '\Archive' gives it an RFC 6154 use)
  delete USER MAILBOX       delete a mailbox and its messages (not INBOX; its
                            child mailboxes stay, as with IMAP DELETE)
  rename USER OLD NEW       rename a mailbox and its children; renaming INBOX
                            moves its messages to NEW
  subscribe USER MAILBOX    subscribe (--remove: unsubscribe)

  create --shared NAME      a public folder (Shared/NAME in IMAP), owned by
                            the server
  setacl --user USER|--shared MAILBOX IDENTIFIER RIGHTS
                            set an RFC 4314 ACL entry ("lr", "+w", "-w";
                            "" removes it)
  getacl --user USER|--shared MAILBOX
                            print the ACL (docs/sharing.md)
  sharedseen --user USER|--shared MAILBOX on|off
                            on: \Seen shared by every user of the mailbox;
                            off (default): each non-owner has their own

Mailbox names are UTF-8 with "/" between levels. When the server runs,
create, delete, rename and subscribe go through its control socket, so
connected clients see the change at once; otherwise the data folder is
changed directly.
`

func runMailbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, mailboxUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb := args[0]
	if verb == "setacl" || verb == "getacl" || verb == "sharedseen" || verb == "create" && slices.Contains(args[1:], "--shared") {
		return runMailboxSharing(ctx, args, stdout, stderr) // sharing.go
	}
	var specialUse string
	var remove bool
	c, code, done := newAdminCmd("mailbox "+verb, mailboxUsage, args[1:], stdout, stderr, func(fs *flag.FlagSet) {
		switch verb {
		case "create":
			fs.StringVar(&specialUse, "special-use", "", `RFC 6154 special use of the new mailbox, e.g. \Archive`)
		case "subscribe":
			fs.BoolVar(&remove, "remove", false, "unsubscribe instead")
		}
	})
	if done {
		return code
	}
	want := map[string]int{"list": 1, "status": 2, "create": 2, "delete": 2, "rename": 3, "subscribe": 2}
	n, ok := want[verb]
	if !ok {
		fmt.Fprintf(stderr, "barid mailbox: unknown action %q\n\n%s", verb, mailboxUsage)
		return 2
	}
	if len(c.args) != n {
		return c.usageErr(fmt.Sprintf("expected %d arguments, got %d", n, len(c.args)))
	}
	user := c.args[0]
	switch verb {
	case "list", "status":
		svc, closeFn, err := c.direct(ctx)
		if err != nil {
			return c.fail(err)
		}
		defer closeFn()
		if verb == "status" {
			st, err := svc.Status(ctx, user, c.args[1])
			if err != nil {
				return c.fail(err)
			}
			if c.flags.json {
				c.printJSON(st)
				return 0
			}
			fmt.Fprintf(stdout, "mailbox: %s\nmessages: %d\nunseen: %d\ndeleted: %d\nsize: %d\nuidvalidity: %d\nuidnext: %d\nhighestmodseq: %d\nspecial-use: %s\nsubscribed: %v\n",
				st.Name, st.Messages, st.Unseen, st.Deleted, st.Size, st.UIDValidity, st.UIDNext, st.HighestModSeq, st.SpecialUse, st.Subscribed)
			return 0
		}
		list, err := svc.ListMailboxes(ctx, user)
		if err != nil {
			return c.fail(err)
		}
		if c.flags.json {
			c.printJSON(list)
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MAILBOX\tMESSAGES\tUNSEEN\tSIZE\tSPECIAL-USE\tSUBSCRIBED")
		for _, m := range list {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%v\n", m.Name, m.Messages, m.Unseen, m.Size, m.SpecialUse, m.Subscribed)
		}
		tw.Flush()
		return 0
	}
	req := admin.Request{Op: "mailbox." + verb, User: user, Mailbox: c.args[1], SpecialUse: specialUse, Subscribe: !remove}
	if verb == "rename" {
		req.NewName = c.args[2]
	}
	_, via, err := c.write(ctx, req, func(s *admin.Service) (*admin.Response, error) {
		switch verb {
		case "create":
			return nil, s.CreateMailbox(ctx, user, req.Mailbox, specialUse)
		case "delete":
			return nil, s.DeleteMailbox(ctx, user, req.Mailbox)
		case "rename":
			return nil, s.RenameMailbox(ctx, user, req.Mailbox, req.NewName)
		default:
			return nil, s.Subscribe(ctx, user, req.Mailbox, !remove)
		}
	})
	if err != nil {
		return c.fail(err)
	}
	if c.flags.json {
		c.printJSON(map[string]any{"ok": true, "via": via})
		return 0
	}
	past := map[string]string{"create": "created", "delete": "deleted", "rename": "renamed", "subscribe": "subscribed"}[verb]
	if remove {
		past = "unsubscribed"
	}
	fmt.Fprintf(stdout, "%s %s\n", past, req.Mailbox)
	return 0
}

// --- barid search / expunge ---

const searchUsage = `Usage: barid search [flags] USER MAILBOX QUERY...

Prints the UIDs of the messages in MAILBOX that match QUERY, one per
line (--json: {"uids":[...]}). QUERY is IMAP SEARCH syntax (RFC 9051
§6.4.4), parsed by the IMAP server's own SEARCH parser: ALL, SEEN,
UNSEEN, DELETED, FLAGGED, KEYWORD k, FROM s, TO s, SUBJECT s, BODY s,
TEXT s, HEADER name s, LARGER n, SMALLER n, BEFORE/ON/SINCE date,
SENTBEFORE/SENTON/SENTSINCE date, UID set, OR a b, NOT a, (a b), ...
Several keys are ANDed. Give the query as one argument
('SUBJECT "hello world" SINCE 1-week-ago') or as several, in which case
an argument with a space or a quote is sent as one quoted string.
Sequence numbers count the mailbox's messages in UID order.

` + admin.DateHelp + "\n"

const expungeUsage = `Usage: barid expunge [flags] USER MAILBOX QUERY...

Removes the messages in MAILBOX that match QUERY, whether or not they
are flagged \Deleted (like doveadm expunge), and prints how many. QUERY
is as for "barid search"; try it there first. Example, empty the trash
of everything older than 30 days:

  barid expunge --data /var/lib/barid alice Trash BEFORE 30-days-ago

When the server runs, the expunge goes through its control socket, so
clients with the mailbox open are told at once (EXPUNGE/VANISHED).

` + admin.DateHelp + "\n"

// joinQuery makes one IMAP search program of the QUERY arguments.
func joinQuery(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	parts := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \"\\\t") {
			a = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}

func runSearch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, done := newAdminCmd("search", searchUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(c.args) < 3 {
		return c.usageErr("expected USER MAILBOX QUERY")
	}
	svc, closeFn, err := c.direct(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer closeFn()
	uids, err := svc.Search(ctx, c.args[0], c.args[1], joinQuery(c.args[2:]))
	if err != nil {
		return c.fail(err)
	}
	nums := make([]uint32, len(uids))
	for i, u := range uids {
		nums[i] = uint32(u)
	}
	if c.flags.json {
		c.printJSON(map[string]any{"uids": nums})
		return 0
	}
	for _, u := range nums {
		fmt.Fprintln(stdout, u)
	}
	return 0
}

func runExpunge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, done := newAdminCmd("expunge", expungeUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(c.args) < 3 {
		return c.usageErr("expected USER MAILBOX QUERY")
	}
	req := admin.Request{Op: "expunge", User: c.args[0], Mailbox: c.args[1], Query: joinQuery(c.args[2:])}
	resp, via, err := c.write(ctx, req, func(s *admin.Service) (*admin.Response, error) {
		uids, err := s.Expunge(ctx, req.User, req.Mailbox, req.Query)
		r := &admin.Response{OK: err == nil, Count: len(uids)}
		for _, u := range uids {
			r.UIDs = append(r.UIDs, uint32(u))
		}
		return r, err
	})
	if err != nil {
		return c.fail(err)
	}
	if resp.UIDs == nil {
		resp.UIDs = []uint32{}
	}
	if c.flags.json {
		c.printJSON(map[string]any{"expunged": resp.UIDs, "via": via})
		return 0
	}
	fmt.Fprintf(stdout, "expunged %d messages\n", len(resp.UIDs))
	return 0
}

// --- barid fetch ---

const fetchUsage = `Usage: barid fetch [flags] USER MAILBOX UID

Writes the raw message (RFC 5322 bytes as stored) to standard output.
--json prints {"uid":N,"size":N,"message_base64":"..."} instead.
`

func runFetch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, done := newAdminCmd("fetch", fetchUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(c.args) != 3 {
		return c.usageErr("expected USER MAILBOX UID")
	}
	uid, err := strconv.ParseUint(c.args[2], 10, 32)
	if err != nil || uid == 0 {
		return c.usageErr(fmt.Sprintf("invalid UID %q", c.args[2]))
	}
	svc, closeFn, err := c.direct(ctx)
	if err != nil {
		return c.fail(err)
	}
	defer closeFn()
	r, err := svc.Open(ctx, c.args[0], c.args[1], store.UID(uid))
	if err != nil {
		return c.fail(err)
	}
	defer r.Close()
	sr := io.NewSectionReader(r, 0, r.Size())
	if c.flags.json {
		b, err := io.ReadAll(sr)
		if err != nil {
			return c.fail(err)
		}
		c.printJSON(map[string]any{"uid": uid, "size": len(b), "message_base64": base64.StdEncoding.EncodeToString(b)})
		return 0
	}
	if _, err := io.Copy(stdout, sr); err != nil {
		return c.fail(err)
	}
	return 0
}

// --- barid who / kick ---

const whoUsage = `Usage: barid who [flags]

Lists the running server's IMAP and POP3 sessions: id, protocol, user
(empty before login), remote address, TLS, connected since, and the
selected mailbox. Needs the running server (its control socket).
`

const kickUsage = `Usage: barid kick [flags] USER

Ends USER's IMAP sessions with "* BYE <text>" and POP3 sessions with
"-ERR [SYS/TEMP] <text>" (a session running a command is told when the
command completes), and prints how many. POP3 sessions ended this way
delete nothing. Needs the running server (its control socket).
`

// control connects to the running server or says there is none.
func (c *adminCmd) control() (*admin.Client, error) {
	path := c.cfg.ControlSocket()
	if path == "" {
		return nil, errors.New("the control socket is off ([control] socket = \"off\")")
	}
	cl, err := admin.Dial(path)
	if err != nil {
		return nil, fmt.Errorf("no running server answers on %s: %v", path, err)
	}
	return cl, nil
}

func runWho(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, code, done := newAdminCmd("who", whoUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(c.args) != 0 {
		return c.usageErr("takes no arguments")
	}
	cl, err := c.control()
	if err != nil {
		return c.fail(err)
	}
	defer cl.Close()
	resp, err := cl.Call(admin.Request{Op: "who"})
	if err != nil {
		return c.fail(err)
	}
	if c.flags.json {
		if resp.Sessions == nil {
			resp.Sessions = []server.SessionInfo{}
		}
		c.printJSON(resp.Sessions)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROTO\tUSER\tREMOTE\tTLS\tSINCE\tMAILBOX")
	for _, s := range resp.Sessions {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\t%s\t%s\n", s.ID, s.Protocol, s.User, s.Remote, s.TLS, s.Since.UTC().Format(time.RFC3339), s.Mailbox)
	}
	tw.Flush()
	return 0
}

func runKick(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var text string
	c, code, done := newAdminCmd("kick", kickUsage, args, stdout, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&text, "text", "Disconnected by the administrator", "text of the BYE / -ERR line")
	})
	if done {
		return code
	}
	if len(c.args) != 1 {
		return c.usageErr("expected one USER")
	}
	cl, err := c.control()
	if err != nil {
		return c.fail(err)
	}
	defer cl.Close()
	resp, err := cl.Call(admin.Request{Op: "kick", User: c.args[0], Text: text})
	if err != nil {
		return c.fail(err)
	}
	if c.flags.json {
		c.printJSON(map[string]any{"kicked": resp.Count})
		return 0
	}
	fmt.Fprintf(stdout, "kicked %d sessions of %s\n", resp.Count, store.NormalizeAccountName(c.args[0]))
	return 0
}
