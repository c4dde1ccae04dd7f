package main

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"barid/internal/app"
	"barid/internal/config"
	"barid/internal/store"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	return newFormatLogger(w, level, "text")
}

// newFormatLogger is newLogger with [log] format: "json" writes one JSON
// object per line (slog.JSONHandler), anything else key=value text.
func newFormatLogger(w io.Writer, level, format string) *slog.Logger {
	return newLevelLogger(w, parseLevel(level), format)
}

// parseLevel maps log_level to a slog level ("trace" is debug plus the
// protocol trace).
func parseLevel(level string) slog.Level {
	switch level {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// newLevelLogger is newFormatLogger with the level given as a
// slog.Leveler (a *slog.LevelVar changes it while the server runs).
func newLevelLogger(w io.Writer, l slog.Leveler, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serveFlags are the flags that override the config file.
type serveFlags struct {
	config, data, imap, imaps, logLevel string
	lmtp, pop3, pop3s                   string
	metadata                            string
	submission, submissions, relay      string
	blobs                               string
	metrics, pprof, logFormat           string
	managesieve                         string
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "TOML config file (see barid.example.toml)")
	fs.StringVar(&f.data, "data", "", "data folder (default ./barid-data)")
	fs.StringVar(&f.imap, "imap", "", "IMAP (STARTTLS) listen address, e.g. 127.0.0.1:1143; \"off\" disables")
	fs.StringVar(&f.imaps, "imaps", "", "IMAP implicit-TLS listen address, e.g. 127.0.0.1:1993; \"off\" disables")
	fs.StringVar(&f.logLevel, "log-level", "", "trace, debug, info, warn or error")
	fs.StringVar(&f.pop3, "pop3", "", "POP3 (STLS) listen address, e.g. 127.0.0.1:1110; \"off\" disables (default off)")
	fs.StringVar(&f.pop3s, "pop3s", "", "POP3 implicit-TLS listen address, e.g. 127.0.0.1:1995; \"off\" disables (default off)")
	fs.StringVar(&f.lmtp, "lmtp", "", "LMTP (RFC 2033) listen address for an MTA, e.g. 127.0.0.1:24; \"off\" disables")
	fs.StringVar(&f.metadata, "metadata", "", metadataFlagUsage)
	fs.StringVar(&f.submission, "submission", "", "message submission (RFC 6409, STARTTLS) listen address, e.g. :587; \"off\" disables")
	fs.StringVar(&f.submissions, "submissions", "", "message submission implicit-TLS (RFC 8314) listen address, e.g. :465; \"off\" disables")
	fs.StringVar(&f.relay, "relay", "", "smarthost HOST:PORT that submission relays every message to, e.g. 127.0.0.1:25")
	fs.StringVar(&f.blobs, "blobs", "", blobsFlagUsage)
	fs.StringVar(&f.metrics, "metrics", "", "Prometheus /metrics listen address, e.g. 127.0.0.1:9143; \"off\" disables (default off)")
	fs.StringVar(&f.pprof, "pprof", "", "net/http/pprof listen address, loopback only, e.g. 127.0.0.1:6060; \"off\" disables (default off)")
	fs.StringVar(&f.logFormat, "log-format", "", "log format: text or json")
	fs.StringVar(&f.managesieve, "managesieve", "", "ManageSieve (RFC 5804, STARTTLS) listen address, e.g. :4190; \"off\" disables (default off)")
}

func (f *serveFlags) load() (config.Config, error) {
	cfg, err := config.Load(f.config)
	if err != nil {
		return cfg, err
	}
	if f.data != "" {
		cfg.DataDir = f.data
	}
	if f.imap != "" {
		cfg.IMAP.Listen = offToEmpty(f.imap)
	}
	if f.imaps != "" {
		cfg.IMAP.ListenTLS = offToEmpty(f.imaps)
	}
	if f.logLevel != "" {
		cfg.LogLevel = f.logLevel
	}
	if f.lmtp != "" {
		cfg.LMTP.Listen = offToEmpty(f.lmtp)
	}
	if f.pop3 != "" {
		cfg.POP3.Listen = offToEmpty(f.pop3)
	}
	if f.managesieve != "" {
		cfg.ManageSieve.Listen = offToEmpty(f.managesieve)
	}
	if f.pop3s != "" {
		cfg.POP3.ListenTLS = offToEmpty(f.pop3s)
	}
	if f.metadata != "" {
		cfg.Storage.Metadata = f.metadata
	}
	if f.submission != "" {
		cfg.Submission.Listen = offToEmpty(f.submission)
	}
	if f.submissions != "" {
		cfg.Submission.ListenTLS = offToEmpty(f.submissions)
	}
	if f.relay != "" {
		cfg.Submission.Relay = offToEmpty(f.relay)
	}
	if f.blobs != "" {
		cfg.Storage.Blobs = f.blobs
	}
	if f.metrics != "" {
		cfg.Metrics.Listen = offToEmpty(f.metrics)
	}
	if f.pprof != "" {
		cfg.Debug.Pprof = offToEmpty(f.pprof)
	}
	if f.logFormat != "" {
		cfg.Log.Format = f.logFormat
	}
	return cfg, cfg.Validate()
}

// metadataFlagUsage is the help of --metadata (serve, user, deliver).
const metadataFlagUsage = "metadata store: a PostgreSQL URL postgres://USER[:PASS]@HOST:PORT/DB?sslmode=... shared by several nodes " +
	"(default: [storage] metadata, or the SQLite database in the data folder); without PASS the password comes from PGPASSWORD or ~/.pgpass, " +
	"which other local users cannot read in the process list"

// blobsFlagUsage is the help of --blobs (serve, user, deliver).
const blobsFlagUsage = "message byte store: file:///PATH (a folder all nodes share) or s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=R " +
	"(an S3-compatible object store; credentials from [storage] s3_access_key/s3_secret_key or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) " +
	"(default: [storage] blobs, or the blobs folder in the data folder)"

func offToEmpty(s string) string {
	if s == "off" {
		return ""
	}
	return s
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: barid serve [flags]\n\nRuns the IMAP server (and POP3 and LMTP when configured). Flags override the config file.\nSIGTERM/SIGINT shut down cleanly; SIGHUP reloads the TLS certificate and\nre-reads the config file: log_level applies at once, other changes are\nlogged as needing a restart.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	cfg, err := f.load()
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	return serveReload(ctx, cfg, stderr, nil, f.load)
}

// serve runs the server until SIGTERM/SIGINT. ready, if set, runs once
// the listeners are bound.
func serve(ctx context.Context, cfg config.Config, stderr io.Writer, ready func(*app.App)) int {
	return serveReload(ctx, cfg, stderr, ready, nil)
}

// serveReload is serve with SIGHUP re-reading the configuration through
// reload (nil: only the TLS certificate is reloaded; reload.go).
func serveReload(ctx context.Context, cfg config.Config, stderr io.Writer, ready func(*app.App), reload func() (config.Config, error)) int {
	level := new(slog.LevelVar)
	level.Set(parseLevel(cfg.LogLevel))
	logger := newLevelLogger(stderr, level, cfg.Log.Format)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	if err := a.Listen(); err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		a.Data().Close()
		return 1
	}
	if err := app.DropPrivileges(cfg.User, cfg.Group, cfg.DataDir); err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		a.Data().Close()
		return 1
	}
	if ready != nil {
		ready(a)
	}
	if reload != nil {
		stopReload := watchReload(ctx, cfg, reload, level, logger)
		defer stopReload()
	}
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	return 0
}

func flagErr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// runQuickstart starts a working server on the embedded default: data in
// ./barid-data, a "demo" account with a fresh random password (printed,
// never stored in plaintext), IMAP on 127.0.0.1:1143 (STARTTLS) and
// 127.0.0.1:1993 (TLS, self-signed), POP3 on 127.0.0.1:1110 (STLS) and
// 127.0.0.1:1995 (TLS), ManageSieve (RFC 5804) on 127.0.0.1:14190
// (STARTTLS), for the mail filters.
func runQuickstart(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	user := fs.String("user", "demo", "demo account name")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: barid quickstart [flags]\n\nCreates the data folder and a demo account (a new password on every run),\nprints what a mail client needs, and serves IMAP on 127.0.0.1:1143 (STARTTLS)\nand 127.0.0.1:1993 (TLS), POP3 on 127.0.0.1:1110 (STLS) and 127.0.0.1:1995 (TLS),\nManageSieve on 127.0.0.1:14190 (STARTTLS), unless overridden.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if f.imap == "" {
		f.imap = "127.0.0.1:1143"
	}
	if f.imaps == "" {
		f.imaps = "127.0.0.1:1993"
	}
	if f.pop3 == "" {
		f.pop3 = "127.0.0.1:1110"
	}
	if f.pop3s == "" {
		f.pop3s = "127.0.0.1:1995"
	}
	if f.managesieve == "" {
		// the IANA port 4190 shifted like the others
		f.managesieve = "127.0.0.1:14190"
	}
	cfg, err := f.load()
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	// Submission needs a smarthost to send through, and the quickstart
	// has none: without --relay (or [submission] relay in --config) it
	// stays off rather than accept clients' messages only to refuse
	// each one. With a relay and no listener set it listens on 1587
	// and 1465.
	if sub := &cfg.Submission; sub.Relay != "" && sub.Listen == "" && sub.ListenTLS == "" &&
		f.submission != "off" && f.submissions != "off" {
		sub.Listen, sub.ListenTLS = "127.0.0.1:1587", "127.0.0.1:1465"
	}
	password := randomPassword()
	logger := newLogger(io.Discard, "error")
	d, err := app.OpenData(ctx, &cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	_, err = app.CreateAccount(ctx, d.Store, *user, password)
	if errors.Is(err, store.ErrAccountExists) {
		err = app.SetPassword(ctx, d.Store, *user, password)
	}
	d.Close()
	if err != nil {
		fmt.Fprintln(stderr, "barid:", err)
		return 1
	}
	return serve(ctx, cfg, stderr, func(a *app.App) {
		addrs := a.Addrs()
		fmt.Fprintf(stdout, `barid is running. Point a mail client at it:

  IMAP server : %s  (STARTTLS)
  IMAPS server: %s  (TLS; the certificate is self-signed: %s/tls/cert.pem)
%s%s  Username    : %s
  Password    : %s

Data folder: %s. Press Ctrl-C to stop. Add accounts with:
  barid user add --data %s NAME
`, addrs["imap"], addrs["imaps"], cfg.DataDir, pop3Lines(addrs), manageSieveLine(addrs), store.NormalizeAccountName(*user), password, cfg.DataDir, cfg.DataDir)
		if addrs["submission"] != "" || addrs["submissions"] != "" {
			fmt.Fprintf(stdout, "\nSending: SMTP %s (STARTTLS) or %s (TLS), same user and password;\nrelayed through %s.\n",
				addrs["submission"], addrs["submissions"], cfg.Submission.Relay)
		} else {
			fmt.Fprintf(stdout, "\nSending is off: give --relay HOST:PORT (your MTA, e.g. 127.0.0.1:25) to\nturn on submission on 127.0.0.1:1587 (STARTTLS) and 127.0.0.1:1465 (TLS).\n")
		}
	})
}

// pop3Lines are quickstart's POP3 lines (none for a listener turned off).
func pop3Lines(addrs map[string]string) string {
	var b strings.Builder
	if a := addrs["pop3"]; a != "" {
		fmt.Fprintf(&b, "  POP3 server : %s  (STLS)\n", a)
	}
	if a := addrs["pop3s"]; a != "" {
		fmt.Fprintf(&b, "  POP3S server: %s  (TLS)\n", a)
	}
	return b.String()
}

// manageSieveLine is quickstart's ManageSieve line (none when it is off).
func manageSieveLine(addrs map[string]string) string {
	if a := addrs["managesieve"]; a != "" {
		return fmt.Sprintf("  ManageSieve : %s  (STARTTLS; mail filters, RFC 5804)\n", a)
	}
	return ""
}

func randomPassword() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
