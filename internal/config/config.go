// Package config holds barid's typed configuration: defaults, the TOML
// file format (see barid.example.toml at the repository root, which shows
// and explains every key), and validation. There is no package-level
// state: Load returns a value that the caller passes down.
package config

import (
	"barid/internal/search/fuzzy"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Duration is a time.Duration that reads TOML strings such as "30m".
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: %v", b, err)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the whole configuration.
type Config struct {
	// DataDir holds the SQLite database, the message blobs, the
	// generated certificate and the local control socket.
	DataDir  string `toml:"data_dir"`
	Hostname string `toml:"hostname"`
	LogLevel string `toml:"log_level"` // debug, info, warn, error; "trace" adds the protocol trace
	// User and Group to switch to after binding ports when started as root.
	User  string `toml:"user"`
	Group string `toml:"group"`

	IMAP    IMAP    `toml:"imap"`
	POP3    POP3    `toml:"pop3"`
	Storage Storage `toml:"storage"`
	LMTP    LMTP    `toml:"lmtp"`
	TLS     TLS     `toml:"tls"`
	Auth    Auth    `toml:"auth"`
	Limits  Limits  `toml:"limits"`

	Submission Submission `toml:"submission"`

	Sieve       Sieve       `toml:"sieve"`
	ManageSieve ManageSieve `toml:"managesieve"`
	// Sharing names the other users' and public namespaces (RFC 2342).
	Sharing Sharing `toml:"sharing"`
	// Groups defines "$name" ACL identifiers (RFC 4314 §2):
	// [groups] staff = ["alice", "bob"]. `barid group add` adds more.
	Groups map[string][]string `toml:"groups"`

	Metrics Metrics `toml:"metrics"`
	Log     Log     `toml:"log"`
	Proxy   Proxy   `toml:"proxy"`
	Control Control `toml:"control"`
	Debug   Debug   `toml:"debug"`

	Quota    Quota    `toml:"quota"`    // quota.go
	Metadata Metadata `toml:"metadata"` // quota.go
}

// Proxy is the PROXY protocol section (internal/proxylisten): barid
// behind a load balancer such as HAProxy or nginx stream.
type Proxy struct {
	// Trusted lists the balancers' addresses or CIDR prefixes. A
	// connection from one of them to an IMAP, POP3, LMTP or submission
	// listener must begin with a PROXY v1 or v2 header, whose client
	// address then counts for limits, throttling and logs. From any
	// other address no header is read. Empty (the default) turns the
	// PROXY protocol off.
	Trusted []string `toml:"trusted"`
	// HeaderTimeout bounds the wait for a trusted peer's header; a
	// peer that sends none in time is disconnected.
	HeaderTimeout Duration `toml:"header_timeout"`
}

// Metrics is the Prometheus endpoint section (docs/operations.md,
// "Monitoring").
type Metrics struct {
	// Listen is the address of the HTTP listener that serves /metrics
	// in the Prometheus exposition format, e.g. "127.0.0.1:9143".
	// Empty disables metrics (and their cost). The endpoint has no
	// authentication: bind it to loopback or a private network.
	Listen string `toml:"listen"`
}

// Control is the operator's control socket (docs/operations.md, "Admin
// CLI"): "barid who", "barid kick" and the admin CLI's writes reach the
// running server through it.
type Control struct {
	// Socket is the unix socket's path, relative to data_dir unless
	// absolute (default "control.sock"); "off" disables it. The socket
	// is mode 0600: only the server's own user may use it.
	Socket string `toml:"socket"`
}

// ControlSocket is the control socket's path, "" when it is off.
func (c *Config) ControlSocket() string {
	switch s := c.Control.Socket; {
	case s == "off":
		return ""
	case s == "":
		return c.Path("control.sock")
	case filepath.IsAbs(s):
		return s
	default:
		return c.Path(s)
	}
}

// Log is the log output section; the level is the top-level log_level.
type Log struct {
	// Format is "text" (slog's key=value lines, the default) or "json"
	// (one JSON object per line).
	Format string `toml:"format"`
}

// Debug is the profiling section.
type Debug struct {
	// Pprof is the address of an HTTP listener serving net/http/pprof
	// under /debug/pprof/, e.g. "127.0.0.1:6060". It must be a loopback
	// address (the profiles are unauthenticated and reveal memory).
	// Empty disables it.
	Pprof string `toml:"pprof"`
}

// IMAP is the IMAP listener section.
type IMAP struct {
	// Listen is the plain-text (STARTTLS) address, e.g. ":143". Empty disables.
	Listen string `toml:"listen"`
	// ListenTLS is the implicit-TLS address, e.g. ":993". Empty disables.
	ListenTLS string `toml:"listen_tls"`
	// AllowPlaintextAuth permits LOGIN/AUTHENTICATE PLAIN on unencrypted
	// connections from non-loopback addresses. Loopback is always allowed.
	AllowPlaintextAuth bool `toml:"allow_plaintext_auth"`
	// IdleKeepalive is how often an idling client gets "* OK Still here".
	IdleKeepalive Duration `toml:"idle_keepalive"`
	// FuzzyLanguages are the Snowball stemmers SEARCH FUZZY (RFC 6203)
	// applies to words in Latin script; Arabic and Cyrillic words always
	// get the Arabic and Russian stemmers (internal/search/fuzzy).
	FuzzyLanguages []string `toml:"fuzzy_languages"`
}

// POP3 is the POP3 listener section (RFC 1939). Both listeners are off
// by default. Authentication follows [imap] allow_plaintext_auth and the
// [limits] keys (line_length, commands_before_login, login_timeout,
// autologout, max_conns_per_ip, max_conns_per_user) apply as for IMAP.
type POP3 struct {
	// Listen is the plain-text (STLS) address, e.g. ":110". Empty disables.
	Listen string `toml:"listen"`
	// ListenTLS is the implicit-TLS address, e.g. ":995". Empty disables.
	ListenTLS string `toml:"listen_tls"`
}

// LMTP is the LMTP listener section.
type LMTP struct {
	Listen       string   `toml:"listen"`        // TCP address; empty disables
	Socket       string   `toml:"socket"`        // unix socket path; empty disables
	LocalDomains []string `toml:"local_domains"` // recipients in these domains match by local part
	// DetailDelivery delivers user+detail@ into mailbox "detail" when it exists.
	DetailDelivery bool `toml:"detail_delivery"`
	// QuotaTempFail answers over-quota with 452 4.2.2 instead of 552 5.2.2.
	QuotaTempFail bool `toml:"quota_tempfail"`
}

// Submission is the message submission section (RFC 6409, RFC 8314,
// RFC 4468 BURL): barid authenticates the user, checks the sender, and
// relays each message synchronously to Relay (it keeps no queue).
type Submission struct {
	// Listen is the STARTTLS address, e.g. ":587". Empty disables.
	Listen string `toml:"listen"`
	// ListenTLS is the implicit-TLS address (RFC 8314), e.g. ":465".
	// Empty disables.
	ListenTLS string `toml:"listen_tls"`
	// Relay is the smarthost, "HOST:PORT" (e.g. a local Postfix,
	// "127.0.0.1:25"). Empty: every message is refused with
	// 451 4.3.5 (nothing is accepted that could not be sent).
	Relay string `toml:"relay"`
	// RelayTLS is how barid talks TLS to the relay: "may" (STARTTLS
	// when offered, certificate not checked; the default, as Postfix's
	// smtp_tls_security_level = may), "encrypt" (STARTTLS required,
	// certificate not checked), "verify" (STARTTLS required and the
	// certificate checked against the relay's host name) or "none".
	RelayTLS string `toml:"relay_tls"`
	// RelayEHLOTTL is how long barid uses what the relay announced in
	// its EHLO (8BITMIME, SMTPUTF8, DSN, SIZE), which decides what
	// barid's own EHLO announces, before it asks again (default 5m).
	// EHLO never waits for the relay: see docs/submission.md.
	RelayEHLOTTL Duration `toml:"relay_ehlo_ttl"`
	// AllowPlaintextAuth permits AUTH on unencrypted connections from
	// non-loopback addresses (the rule of [imap] allow_plaintext_auth).
	AllowPlaintextAuth bool `toml:"allow_plaintext_auth"`
	// MaxRecipients bounds RCPT TO per message (452 4.5.3 beyond it;
	// RFC 5321 §4.5.3.1.8 asks for at least 100).
	MaxRecipients int `toml:"max_recipients"`
	// Addresses lists, per account name, the further addresses it may
	// send as (envelope sender and From): "alias@example.org", or
	// "@example.org" for a whole domain. An account may always use its
	// own name (when it is an address) and name@d for each of
	// [lmtp] local_domains, with any +detail.
	Addresses map[string][]string `toml:"addresses"`
}

// Storage is the embedded store section.
type Storage struct {
	// Metadata selects the metadata store: empty for the embedded SQLite
	// database in DataDir (barid.db), or a PostgreSQL URL,
	// "postgres://USER:PASS@HOST:PORT/DB?sslmode=disable", for a store
	// that several barid nodes share (docs/scale-out.md). Message blobs
	// stay in DataDir either way. The --metadata flag overrides it.
	Metadata string `toml:"metadata"`
	// SyncIndex fsyncs what Dovecot keeps in its index before answering:
	// flag changes (STORE, \Seen set by FETCH), \Recent claims,
	// subscriptions and expunges (EXPUNGE, UID EXPUNGE, CLOSE, the
	// removal from MOVE's source). Off by default: those commits are
	// durable against a crash of barid at once and against power loss
	// with the next fsynced commit, as with Dovecot's default
	// mail_fsync=optimized. A message's arrival (APPEND, COPY, MOVE,
	// delivery) and mailbox changes are always fsynced before the answer;
	// no blob of an expunged message is deleted before the expunge is
	// durable. On PostgreSQL, off means those commits run with
	// synchronous_commit off (postgres.Options.SyncIndex).
	SyncIndex bool `toml:"sync_index"`
	// SyncFlags is sync_index's former name, still read: set, it sets
	// SyncIndex (both set to different values is an error).
	SyncFlags *bool `toml:"sync_flags"`
	// WALSync says who fsyncs the SQLite WAL: "syncer" (default), a
	// goroutine of its own, so the writer commits the next batch while
	// the last one is fsynced and durable writes are answered after the
	// fsync that covers them (a session's pipelined writes share one
	// fsync); or "commit", COMMIT itself with synchronous=FULL, holding
	// the writer (and every write behind it) for the fsync. Both
	// acknowledge only durable writes. The syncer is the default since
	// session 10: under imaptest's stress mix and `barid bench mix
	// -profile imaptest` it answered more commands, with reads as fast
	// as in "commit" (docs/benchmarks.md, "Session 10").
	WALSync string `toml:"wal_sync"`
	// InlineMaxBytes: a message of at most this many bytes is stored
	// inside barid.db, written in the transaction that adds it, instead of
	// as a file under blobs/: one fsync per delivery instead of three.
	// 0 stores every message as a file. At most MaxInlineBytes.
	InlineMaxBytes int64 `toml:"inline_max_bytes"`
	// MultiAppendInlineBytes caps the bytes of small messages one
	// MULTIAPPEND keeps in memory until its single commit (RFC 3502: all
	// or none); the messages after that are spooled to blob files, so a
	// batch of 10,000 small messages cannot hold 640 MiB.
	MultiAppendInlineBytes int64 `toml:"multiappend_inline_bytes"`
	// FlagIndexEntries caps the in-memory flag index (flags, keywords,
	// modseq and size of the messages of large mailboxes, about 28 bytes
	// each, shared by every session; what Dovecot keeps in
	// dovecot.index). Least recently used mailboxes leave first. 0
	// disables it: FETCH FLAGS and flag searches then read SQLite.
	FlagIndexEntries int `toml:"flag_index_entries"`
	// FlagIndexMin is the size from which a mailbox is indexed; smaller
	// ones are answered from SQLite. Default 1: every mailbox in use.
	FlagIndexMin int `toml:"flag_index_min"`
	// RecordCacheBytes bounds the in-memory cache of immutable message
	// records (ENVELOPE, BODYSTRUCTURE, size, dates) beside the flag
	// index, like Dovecot's dovecot.index.cache; on PostgreSQL, each
	// node's cache of ENVELOPEs (postgres.Options.RecordCacheBytes).
	// 0 turns it off.
	RecordCacheBytes int `toml:"record_cache_bytes"`
	// BlobCacheBytes bounds, on PostgreSQL, each node's cache of message
	// bytes by blob ID: small messages read from PostgreSQL, and blobs
	// up to a 64th of it read whole from the blob store
	// (postgres.Options.BlobCacheBytes). Unused by the embedded store,
	// whose bytes the operating system caches. 0 turns it off.
	BlobCacheBytes int `toml:"blob_cache_bytes"`
	// SweepInterval is how often the running server removes orphan
	// blob files: committed blobs no message references (a crash
	// between the blob and its transaction, or a failed transfer whose
	// blob could not be taken back at once) and spool files no writer
	// owns. At least 1s.
	SweepInterval Duration `toml:"sweep_interval"`
	// FTSIndexInterval is how often the running server looks for
	// messages the full-text index of SEARCH BODY/TEXT does not have yet
	// (docs/search.md) and indexes them in the background. Until then
	// they are scanned, so answers never depend on it. At least 100ms.
	FTSIndexInterval Duration `toml:"fts_index_interval"`
	// FTSIndexDuty is the share of wall time (0 < x <= 1) the background
	// indexer may spend while it has a backlog, so that deliveries keep
	// most of the CPU and of the SQLite writer. barid index rebuild is
	// not paced.
	FTSIndexDuty float64 `toml:"fts_index_duty"`
	// FTSIndexBusyDuty replaces FTSIndexDuty while messages are arriving
	// (the server received one since the indexer last looked), so that
	// a delivery burst is slowed less; the backlog is indexed after it
	// at FTSIndexDuty, and searched by scanning meanwhile. 0 < x <= 1.
	FTSIndexBusyDuty float64 `toml:"fts_index_busy_duty"`
	// FTSVocabTerms is the most words of the SQLite full-text vocabulary
	// one piece of a SEARCH BODY/TEXT needle may stand for
	// (docs/search.md, "Needles inside words"): a needle inside more
	// words than that is looked up by its trigrams and each candidate
	// read instead. 0 to 100000, 0 turning the vocabulary off (every
	// needle by its trigrams, as before session 9); answers are the
	// same either way.
	FTSVocabTerms int `toml:"fts_vocab_terms"`
	// FTSDocMapEntries bounds SQLite's in-memory copies of the full-text
	// index's document-to-message map, kept for the mailboxes whose
	// SEARCH BODY/TEXT lookups hit thousands of messages (docs/search.md,
	// "Common words"): (document, UID) pairs over all mailboxes, about
	// 12 bytes each; least recently used mailboxes leave first, and a
	// mailbox with more messages is mapped in SQL as before. 0 turns the
	// copies off; answers are the same either way.
	FTSDocMapEntries int `toml:"fts_docmap_entries"`
	// FTSIndexLease is how long the background indexer's claim on a
	// batch of pending messages lasts: nodes sharing one database never
	// index the same message twice, and the messages a node had claimed
	// when it died are indexed by another once the claim lapses (they
	// are scanned meanwhile). Longer than any batch takes; at least 10s.
	FTSIndexLease Duration `toml:"fts_index_lease"`
	// SweepGrace spares blobs and spool files younger than this, so the
	// sweep never deletes a blob whose transaction is about to commit.
	// At least 1m.
	SweepGrace Duration `toml:"sweep_grace"`
	// Blobs selects the store of message bytes: empty for the files
	// under DataDir/blobs, "file:///PATH" for a folder several nodes
	// share, or "s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=R"
	// for an S3-compatible object store (docs/scale-out.md; further
	// parameters in internal/blob/s3.ParseURL). The --blobs flag
	// overrides it.
	Blobs string `toml:"blobs"`
	// S3AccessKey and S3SecretKey are the credentials of an s3:// Blobs
	// store; when both are empty they come from AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY.
	S3AccessKey string `toml:"s3_access_key"`
	S3SecretKey string `toml:"s3_secret_key"`
	// NotifyPoll is, with a PostgreSQL metadata store, the period of the
	// slow poll behind the cross-node change bus: every node compares the
	// mailboxes and subscriptions of the accounts it has sessions for with
	// the database and announces whatever no LISTEN/NOTIFY notification
	// did (docs/scale-out.md). At least 1s.
	NotifyPoll Duration `toml:"notify_poll"`
}

// MaxInlineBytes is the largest storage.inline_max_bytes accepted (the
// ceiling store/sqlite enforces too): every inline byte is written twice
// (WAL, then checkpoint) and read whole into memory.
const MaxInlineBytes = 1 << 20

// TLS is the certificate section.
type TLS struct {
	// CertFile and KeyFile are PEM files. If both are empty, barid
	// generates a self-signed certificate in the data folder.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`

	// ACMEDomains, when set, has barid obtain and renew certificates for
	// these names from an ACME CA (RFC 8555; Let's Encrypt by default)
	// instead of using cert_file/key_file: the first is served to
	// clients that send no server name. Challenges: TLS-ALPN-01
	// (RFC 8737) on the implicit-TLS listeners (the CA connects to port
	// 443 of the name by default: forward 443 to imap.listen_tls, or
	// serve IMAPS on 443), and HTTP-01 when acme_http is set.
	// Certificates and the account key are kept in <data_dir>/acme.
	ACMEDomains []string `toml:"acme_domains"`
	// ACMEEmail is the contact address given to the CA (optional).
	ACMEEmail string `toml:"acme_email"`
	// ACMEDir is the CA's directory URL (default Let's Encrypt's
	// production directory).
	ACMEDir string `toml:"acme_dir"`
	// ACMEHTTP is a listen address, e.g. ":80", for HTTP-01 challenges
	// ("" turns HTTP-01 off). Other requests there get 404.
	ACMEHTTP string `toml:"acme_http"`
	// ACMECA is a PEM file of root certificates to trust, besides the
	// system's, when talking to the CA's API (a private or test CA such
	// as Pebble).
	ACMECA string `toml:"acme_ca"`
}

// Auth holds login throttling settings.
type Auth struct {
	FailureDelay    Duration `toml:"failure_delay"`     // first delay after a failed login
	MaxFailureDelay Duration `toml:"max_failure_delay"` // the delay doubles per failure up to this
	FailureWindow   Duration `toml:"failure_window"`    // failures older than this are forgotten
	// TrustedNetworks are exempt from connection-count limits (not from
	// failed-login delays). Empty by default, loopback included.
	TrustedNetworks []string `toml:"trusted_networks"`
	// CacheTTL is how long a verified password is remembered, so the
	// next login with it skips the argon2id hash; 0 turns the cache
	// off. CacheSize bounds the accounts remembered.
	CacheTTL  Duration `toml:"cache_ttl"`
	CacheSize int      `toml:"cache_size"`
	// Sources are the account sources tried in order: builtin, ldap,
	// passwd-file, sql (accounts.go). Default: builtin alone.
	Sources []string `toml:"sources"`
	// NegativeCacheTTL is how long "no such user" from a directory
	// source is remembered (cache_ttl is for found users).
	NegativeCacheTTL Duration   `toml:"negative_cache_ttl"`
	PasswdFile       PasswdFile `toml:"passwd_file"`
	LDAP             LDAP       `toml:"ldap"`
	SQL              SQL        `toml:"sql"`
	OAuth            OAuth      `toml:"oauth"`
	// RehashOnLogin replaces a builtin account's imported hash
	// (barid user add --hash: {SHA512-CRYPT}, {BLF-CRYPT}, DES crypt,
	// …, or a bare argon2id string without SCRAM keys) with barid's own
	// argon2id secret at its first successful login. Directory sources
	// are never written. Default true.
	RehashOnLogin bool `toml:"rehash_on_login"`
}

// Limits are the named limits. Each error that enforces one names it.
type Limits struct {
	LineLength          int      `toml:"line_length"`           // bytes per command line, literals excluded
	LiteralSize         int64    `toml:"literal_size"`          // bytes per literal; advertised as APPENDLIMIT
	NestingDepth        int      `toml:"nesting_depth"`         // parenthesis depth in a command
	CommandsBeforeLogin int      `toml:"commands_before_login"` // commands allowed before authentication
	LoginTimeout        Duration `toml:"login_timeout"`         // time allowed before authentication
	Autologout          Duration `toml:"autologout"`            // inactivity timeout after login (RFC 9051 §5.4: at least 30 minutes)
	MIMEDepth           int      `toml:"mime_depth"`            // nesting of MIME parts
	MIMEParts           int      `toml:"mime_parts"`            // MIME parts per message
	HeaderSize          int      `toml:"header_size"`           // bytes of one header block
	// MaxConnsPerIP caps concurrent connections from one client
	// address (IPv6: one /64), before login. A whole office or a
	// carrier-grade NAT shares one address, so it is a ceiling against
	// one host flooding the server, set far above what a NATed office
	// uses; MaxConnsPerUserIP is the per-person limit.
	MaxConnsPerIP int `toml:"max_conns_per_ip"`
	// MaxConnsPerUser caps concurrent sessions of one account, from
	// everywhere (trusted networks included).
	MaxConnsPerUser int `toml:"max_conns_per_user"`
	// MaxConnsPerUserIP caps concurrent sessions of one account from
	// one address, checked at login, like Dovecot's
	// mail_max_userip_connections (default 10 there too); trusted
	// networks are exempt.
	MaxConnsPerUserIP int `toml:"max_conns_per_user_ip"`
	// SearchUpdates caps the SEARCH/SORT RETURN (UPDATE) results one
	// session keeps up to date (RFC 5267 §4.2).
	SearchUpdates int `toml:"search_updates"`
	// NotifyMailboxes caps the mailbox names one NOTIFY SET may list
	// (RFC 5465: NO [NOTIFICATIONOVERFLOW] past it; Dovecot allows 100).
	NotifyMailboxes int `toml:"notify_mailboxes"`
	// NotifyPending caps the notifications (mailbox events, mailboxes
	// awaiting a STATUS) queued for one NOTIFY session; past it the
	// session gets * OK [NOTIFICATIONOVERFLOW] and NOTIFY NONE (§5.8).
	NotifyPending int `toml:"notify_pending"`
	// OAuthTokenSize caps the bytes of one OAUTHBEARER or XOAUTH2
	// bearer token (a JWT with many claims runs to a few KiB); a longer
	// one is refused as malformed, naming the limit.
	OAuthTokenSize int `toml:"oauth_token_size"`
	// CryptRounds caps rounds= of a SHA-crypt hash ($5$, $6$) read from
	// a passwd-file, LDAP userPassword or SQL column, and BcryptCost the
	// cost of a bcrypt one: a hash over them is refused (logged, naming
	// the limit) rather than let one login burn minutes of CPU.
	CryptRounds int `toml:"crypt_rounds"`
	BcryptCost  int `toml:"bcrypt_cost"`
}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		DataDir:  "./barid-data",
		Hostname: "localhost",
		LogLevel: "info",
		IMAP: IMAP{
			Listen:         ":143",
			ListenTLS:      ":993",
			IdleKeepalive:  Duration{2 * time.Minute},
			FuzzyLanguages: slices.Clone(fuzzy.DefaultLanguages),
		},
		LMTP: LMTP{LocalDomains: []string{"localhost"}},
		Storage: Storage{WALSync: "syncer", InlineMaxBytes: 64 << 10, MultiAppendInlineBytes: 16 << 20, FlagIndexEntries: 2_000_000, FlagIndexMin: 1, RecordCacheBytes: 64 << 20, BlobCacheBytes: 64 << 20,
			SweepInterval: Duration{10 * time.Minute}, SweepGrace: Duration{10 * time.Minute}, FTSIndexInterval: Duration{time.Second}, FTSIndexDuty: 0.25, FTSIndexBusyDuty: 0.05, FTSVocabTerms: 256, FTSDocMapEntries: 4 << 20, FTSIndexLease: Duration{2 * time.Minute},
			NotifyPoll: Duration{30 * time.Second}},
		Auth: Auth{
			FailureDelay:    Duration{time.Second},
			MaxFailureDelay: Duration{15 * time.Second},
			FailureWindow:   Duration{15 * time.Minute},
			CacheTTL:        Duration{time.Hour},
			CacheSize:       100_000,

			NegativeCacheTTL: Duration{defaultNegativeTTL},
			RehashOnLogin:    true,
		},
		Limits: Limits{
			LineLength:          64 * 1024,
			LiteralSize:         64 << 20,
			NestingDepth:        64,
			CommandsBeforeLogin: 32,
			LoginTimeout:        Duration{60 * time.Second},
			Autologout:          Duration{30 * time.Minute},
			MIMEDepth:           100,   // as Dovecot, so structures match
			MIMEParts:           10000, // and its part limit

			HeaderSize: 1 << 20,
			// An office of 100 people behind one NAT, each with a
			// desktop client (Thunderbird caches up to 5 connections
			// per account) and a phone, holds about 600; 1000 leaves
			// room without letting one host hold unbounded sockets.
			MaxConnsPerIP:     1000,
			MaxConnsPerUser:   100,
			MaxConnsPerUserIP: 10,
			SearchUpdates:     10, // as Dovecot's CLIENT_MAX_SEARCH_UPDATES
			NotifyMailboxes:   100,
			NotifyPending:     10000,
			OAuthTokenSize:    16 << 10,
			CryptRounds:       10_000_000, // auth.DefaultMaxCryptRounds
			BcryptCost:        16,         // auth.DefaultMaxBcryptCost
		},
		Submission: Submission{RelayTLS: "may", MaxRecipients: 100, RelayEHLOTTL: Duration{5 * time.Minute}},
		Log:        Log{Format: "text"},
		Proxy:      Proxy{HeaderTimeout: Duration{5 * time.Second}},
		Metadata:   DefaultMetadata(),
		Sieve:      defaultSieve(),
		Sharing:    Sharing{ACL: true},
		Quota:      Quota{Enforce: true},
	}
}

// Load reads path (if not empty) over the defaults and validates.
func Load(path string) (Config, error) {
	cfg := Default()
	if path != "" {
		md, err := toml.DecodeFile(path, &cfg)
		if err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
		// [storage] sync_flags is sync_index's former name.
		if old := cfg.Storage.SyncFlags; old != nil {
			if md.IsDefined("storage", "sync_index") && *old != cfg.Storage.SyncIndex {
				return cfg, fmt.Errorf("config %s: storage.sync_flags (the former name of storage.sync_index) = %v contradicts storage.sync_index = %v", path, *old, cfg.Storage.SyncIndex)
			}
			cfg.Storage.SyncIndex = *old
			cfg.Storage.SyncFlags = nil
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			return cfg, fmt.Errorf("config %s: unknown keys: %s", path, strings.Join(keys, ", "))
		}
	}
	return cfg, cfg.Validate()
}

// Validate checks values and ranges.
func (c *Config) Validate() error {
	var errs []string
	add := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if c.DataDir == "" {
		add("data_dir must be set")
	}
	c.validateQuotaMetadata(add)
	l := c.Limits
	if l.LineLength < 1024 {
		add("limits.line_length must be at least 1024 (RFC 9051 §4 recommends 8192)")
	}
	if l.LiteralSize < 1024 {
		add("limits.literal_size must be at least 1024")
	}
	if l.NestingDepth < 4 {
		add("limits.nesting_depth must be at least 4")
	}
	if l.SearchUpdates < 0 {
		add("limits.search_updates must not be negative")
	}
	if l.CommandsBeforeLogin < 1 {
		add("limits.commands_before_login must be at least 1")
	}
	if l.Autologout.Duration < 30*time.Minute {
		add("limits.autologout must be at least 30m (RFC 9051 §5.4)")
	}
	if l.LoginTimeout.Duration < time.Second {
		add("limits.login_timeout must be at least 1s")
	}
	if l.MIMEDepth < 1 || l.MIMEParts < 1 || l.HeaderSize < 1024 {
		add("limits.mime_depth, mime_parts must be >= 1 and header_size >= 1024")
	}
	if l.MaxConnsPerIP < 0 || l.MaxConnsPerUser < 0 || l.MaxConnsPerUserIP < 0 {
		add("limits.max_conns_per_ip, max_conns_per_user and max_conns_per_user_ip must be >= 0 (0 = unlimited)")
	}
	if c.Storage.MultiAppendInlineBytes < 0 {
		return fmt.Errorf("storage.multiappend_inline_bytes must be 0 or more, got %d", c.Storage.MultiAppendInlineBytes)
	}
	if c.Storage.FlagIndexEntries < 0 {
		return fmt.Errorf("storage.flag_index_entries must be 0 or more, got %d", c.Storage.FlagIndexEntries)
	}
	if c.Storage.RecordCacheBytes < 0 {
		return fmt.Errorf("storage.record_cache_bytes must be 0 or more, got %d", c.Storage.RecordCacheBytes)
	}
	if c.Storage.BlobCacheBytes < 0 {
		return fmt.Errorf("storage.blob_cache_bytes must be 0 or more, got %d", c.Storage.BlobCacheBytes)
	}
	if w := c.Storage.WALSync; w != "" && w != "syncer" && w != "commit" {
		add("storage.wal_sync must be \"syncer\" or \"commit\", got %q", w)
	}
	if c.Storage.FlagIndexMin < 1 {
		return fmt.Errorf("storage.flag_index_min must be 1 or more, got %d", c.Storage.FlagIndexMin)
	}
	if m := c.Storage.Metadata; m != "" && !IsPostgresURL(m) {
		add("storage.metadata must be empty (the SQLite database in data_dir) or a postgres:// URL, got %s", describeScheme(m))
	}
	if err := validBlobsURL(c.Storage.Blobs); err != nil {
		add("%v", err)
	}
	if (c.Storage.S3AccessKey == "") != (c.Storage.S3SecretKey == "") {
		add("storage.s3_access_key and storage.s3_secret_key go together (or leave both empty for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	}
	if c.Storage.SweepInterval.Duration < time.Second {
		add("storage.sweep_interval must be at least 1s")
	}
	for _, l := range c.IMAP.FuzzyLanguages {
		if !fuzzy.Known(l) {
			langs := fuzzy.Languages()
			slices.Sort(langs)
			add("imap.fuzzy_languages: unknown language %q (known: %s)", l, strings.Join(langs, ", "))
		}
	}
	if c.Storage.FTSIndexInterval.Duration < 100*time.Millisecond {
		add("storage.fts_index_interval must be at least 100ms")
	}
	if !(c.Storage.FTSIndexDuty > 0 && c.Storage.FTSIndexDuty <= 1) {
		add("storage.fts_index_duty must be above 0 and at most 1")
	}
	if !(c.Storage.FTSIndexBusyDuty > 0 && c.Storage.FTSIndexBusyDuty <= 1) {
		add("storage.fts_index_busy_duty must be above 0 and at most 1")
	}
	if c.Storage.FTSVocabTerms < 0 || c.Storage.FTSVocabTerms > 100000 {
		add("storage.fts_vocab_terms must be between 0 (off) and 100000")
	}
	if c.Storage.FTSDocMapEntries < 0 || c.Storage.FTSDocMapEntries > 1<<30 {
		add("storage.fts_docmap_entries must be between 0 (off) and 1073741824")
	}
	if c.Storage.FTSIndexLease.Duration < 10*time.Second {
		add("storage.fts_index_lease must be at least 10s (a claim must outlast the batch it covers)")
	}
	if c.Storage.NotifyPoll.Duration < time.Second {
		return fmt.Errorf("storage.notify_poll must be at least 1s, got %s", c.Storage.NotifyPoll.Duration)
	}
	if c.Storage.SweepGrace.Duration < time.Minute {
		add("storage.sweep_grace must be at least 1m (a blob younger than that may be about to be committed)")
	}
	if c.Storage.InlineMaxBytes < 0 || c.Storage.InlineMaxBytes > MaxInlineBytes {
		add("storage.inline_max_bytes must be between 0 (off) and %d", MaxInlineBytes)
	}
	if c.Limits.NotifyMailboxes < 1 || c.Limits.NotifyPending < 1 {
		add("limits.notify_mailboxes and limits.notify_pending must be at least 1")
	}
	if c.IMAP.IdleKeepalive.Duration < time.Second {
		add("imap.idle_keepalive must be at least 1s")
	}
	switch c.Submission.RelayTLS {
	case "may", "encrypt", "verify", "none":
	default:
		add("submission.relay_tls must be one of may, encrypt, verify, none")
	}
	if c.Submission.RelayEHLOTTL.Duration < time.Second {
		add("submission.relay_ehlo_ttl must be at least 1s")
	}
	if c.Submission.MaxRecipients < 1 {
		add("submission.max_recipients must be at least 1")
	}
	if r := c.Submission.Relay; r != "" {
		if _, _, err := net.SplitHostPort(r); err != nil {
			add("submission.relay must be HOST:PORT: %v", err)
		}
	}
	c.validateSources(add)
	c.validateSieve(add)
	if c.Auth.CacheTTL.Duration < 0 || c.Auth.CacheSize < 0 {
		add("auth.cache_ttl and auth.cache_size must be >= 0 (0 = no login cache)")
	}
	if _, err := c.TrustedPrefixes(); err != nil {
		add("%v", err)
	}
	if _, err := c.ProxyPrefixes(); err != nil {
		add("%v", err)
	}
	if c.Proxy.HeaderTimeout.Duration < 100*time.Millisecond {
		add("proxy.header_timeout must be at least 100ms")
	}
	if len(c.TLS.ACMEDomains) > 0 && c.TLS.CertFile != "" {
		add("tls.acme_domains and tls.cert_file exclude each other: ACME obtains the certificate")
	}
	for _, d := range c.TLS.ACMEDomains {
		if d == "" || strings.ContainsAny(d, " /:*") {
			add("tls.acme_domains: %q is not a host name", d)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls.cert_file and tls.key_file must be set together")
	}
	switch c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		add("log_level must be one of trace, debug, info, warn, error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format must be text or json")
	}
	if a := c.Metrics.Listen; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			add("metrics.listen must be HOST:PORT: %v", err)
		}
	}
	if err := CheckLoopback(c.Debug.Pprof); err != nil {
		add("debug.pprof: %v", err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

// CheckLoopback accepts "" and a HOST:PORT whose host is a loopback
// address (127.0.0.0/8, ::1) or "localhost"; anything else, an empty
// host (every interface) included, is refused: debug.pprof serves
// unauthenticated profiles.
func CheckLoopback(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address (pprof is unauthenticated; use 127.0.0.1:PORT or [::1]:PORT)", addr)
}

// TrustedPrefixes parses auth.trusted_networks.
func (c *Config) TrustedPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("auth.trusted_networks", c.Auth.TrustedNetworks)
}

// ProxyPrefixes parses proxy.trusted.
func (c *Config) ProxyPrefixes() ([]netip.Prefix, error) {
	return parsePrefixes("proxy.trusted", c.Proxy.Trusted)
}

// parsePrefixes reads CIDR prefixes or single addresses (a /32 or /128).
func parsePrefixes(key string, entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range entries {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, fmt.Errorf("%s: %q is not a prefix or address", key, s)
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Path returns a path inside the data folder.
func (c *Config) Path(elem ...string) string {
	return filepath.Join(append([]string{c.DataDir}, elem...)...)
}

// EnsureDataDir creates the data folder with mode 0700.
func (c *Config) EnsureDataDir() error {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	return os.Chmod(c.DataDir, 0o700)
}

// IsPostgresURL reports whether s names a PostgreSQL database
// ("postgres://..." or "postgresql://...", libpq's URL form).
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// IsS3URL reports whether s names an S3 blob store ("s3://...").
func IsS3URL(s string) bool { return strings.HasPrefix(s, "s3://") }

// BlobsFolder returns the folder of a "file:///PATH" storage.blobs, and
// false for any other value.
func BlobsFolder(s string) (string, bool) {
	p, ok := strings.CutPrefix(s, "file://")
	if !ok || !strings.HasPrefix(p, "/") {
		return "", false
	}
	return p, true
}

// SharedBlobs reports whether storage.blobs names a store other nodes
// may share (anything but the default folder in data_dir).
func (c *Config) SharedBlobs() bool { return c.Storage.Blobs != "" }

// validBlobsURL checks the form of storage.blobs; the S3 parameters are
// checked when the store opens.
func validBlobsURL(s string) error {
	switch {
	case s == "":
		return nil
	case IsS3URL(s):
		if strings.Contains(strings.SplitN(strings.TrimPrefix(s, "s3://"), "/", 2)[0], "@") {
			return fmt.Errorf("storage.blobs: put no credentials in the s3:// URL; use storage.s3_access_key and s3_secret_key or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
		return nil
	case strings.HasPrefix(s, "file://"):
		if _, ok := BlobsFolder(s); !ok {
			return fmt.Errorf("storage.blobs: a file URL needs an absolute path, file:///PATH")
		}
		return nil
	}
	return fmt.Errorf("storage.blobs must be empty (blobs/ in data_dir), file:///PATH or s3://BUCKET?endpoint=..., got %s", describeScheme(s))
}

// describeScheme names what kind of value a wrong storage.metadata is
// without echoing it: a URL may carry a password.
func describeScheme(s string) string {
	i := strings.Index(s, "://")
	if i <= 0 || i > 20 {
		return "a value that is not a URL"
	}
	return fmt.Sprintf("a %q URL", s[:i])
}
