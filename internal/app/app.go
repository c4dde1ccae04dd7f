package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"barid/internal/auth"
	"barid/internal/blob"
	"barid/internal/blob/tiered"
	"barid/internal/config"
	"barid/internal/deliver"
	"barid/internal/imap/server"
	"barid/internal/mail/mime"
	"barid/internal/mailbox"
	"barid/internal/metrics"
	"barid/internal/notify"
	"barid/internal/store"
	"barid/internal/store/postgres"
	"barid/internal/store/sqlite"
	"barid/internal/urlauth"
)

// Data is an opened data folder: the metadata store and the blob store.
type Data struct {
	Store store.Store
	Blobs blob.Store
}

// OpenData opens (creating if needed) the metadata store, the data
// folder's SQLite database or the PostgreSQL database [storage] metadata
// names, and the blob directory. Files are 0600 and folders 0700.
func OpenData(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Data, error) {
	return openData(ctx, cfg, logger, nil)
}

// openData is OpenData with the SQLite writer's COMMIT timed into m
// (nil: not timed).
func openData(ctx context.Context, cfg *config.Config, logger *slog.Logger, m *metrics.Metrics) (*Data, error) {
	if err := cfg.EnsureDataDir(); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	st, err := openMetadata(ctx, cfg, logger, m)
	if err != nil {
		return nil, err
	}
	applyQuotaDefaults(cfg, st) // quota.go
	bs, err := openBlobs(ctx, cfg)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	// Small messages live in the metadata database ([storage]
	// inline_max_bytes), the others under blobs/: reads look in the
	// database first.
	return &Data{Store: st, Blobs: tiered.New(st, bs)}, nil
}

// metadataStore is a store.Store that also keeps small messages inline
// (both backends do), as tiered.New needs.
type metadataStore interface {
	store.Store
	OpenInline(ctx context.Context, id string) ([]byte, bool, error)
}

// openMetadata opens the metadata store [storage] metadata selects.
func openMetadata(ctx context.Context, cfg *config.Config, logger *slog.Logger, m *metrics.Metrics) (metadataStore, error) {
	if config.IsPostgresURL(cfg.Storage.Metadata) {
		st, err := postgres.Open(ctx, cfg.Storage.Metadata, postgres.Options{Logger: logger, SyncIndex: cfg.Storage.SyncIndex,
			RecordCacheBytes: offIfZero(cfg.Storage.RecordCacheBytes), BlobCacheBytes: offIfZero(cfg.Storage.BlobCacheBytes),
			FlagCacheEntries: offIfZero(cfg.Storage.FlagIndexEntries)})
		if err != nil {
			return nil, fmt.Errorf("open metadata database: %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, cfg.Path("barid.db"), sqlite.Options{Logger: logger, SyncIndex: cfg.Storage.SyncIndex, WALSyncer: cfg.Storage.WALSync == "syncer",
		FlagIndexEntries: offIfZero(cfg.Storage.FlagIndexEntries), FlagIndexMin: cfg.Storage.FlagIndexMin,
		RecordCacheBytes: offIfZero(cfg.Storage.RecordCacheBytes), ObserveCommit: commitObserver(m),
		VocabTerms: offIfZero(cfg.Storage.FTSVocabTerms), DocMapEntries: offIfZero(cfg.Storage.FTSDocMapEntries)})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return st, nil
}

// Close closes the stores.
func (d *Data) Close() error { return d.Store.Close() }

// App is a running barid.
type App struct {
	// startedAt: when New opened the data folder; the start-up
	// integrity sweep removes only blobs older than that.
	startedAt time.Time
	cfg       config.Config
	log       *slog.Logger
	data      *Data
	bus       *notify.Bus
	auth      *auth.Authenticator
	deliv     *deliver.Deliverer
	mbox      *mailbox.Service // names, namespaces, rights (IMAP, LMTP)
	certs     *certReloader
	tlsCfg    *tls.Config
	imap      *server.Server
	lmtp      lmtpService // lmtp.go
	pop3      pop3Service // pop3.go

	subm  submissionService // submission.go
	sieve sieveService      // sieve.go
	obs   observeService    // observe.go: metrics and pprof
	ctl   controlService    // control.go: the operator's control socket
	acme  *acmeService      // acme.go: nil unless [tls] acme_domains

	listeners []listener
}

type listener struct {
	ln          net.Listener
	implicitTLS bool
	name        string
}

// New opens the data folder and prepares the servers (nothing listens
// until Run).
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: logger, bus: notify.New()}
	a.newMetrics()
	d, err := openData(ctx, &a.cfg, logger, a.obs.m)
	if err != nil {
		return nil, err
	}
	a.data = d
	a.startedAt = time.Now()
	certFile, keyFile := cfg.TLS.CertFile, cfg.TLS.KeyFile
	if certFile == "" {
		certFile, keyFile, err = ensureSelfSigned(cfg.DataDir, cfg.Hostname)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
	}
	a.certs, err = newCertReloader(certFile, keyFile)
	if err != nil {
		d.Close()
		return nil, err
	}
	a.tlsCfg = tlsConfig(a.certs)
	if err := a.setupACME(); err != nil {
		d.Close()
		return nil, err
	}
	trusted, _ := cfg.TrustedPrefixes()
	ac := auth.DefaultConfig()
	ac.FailureDelay = cfg.Auth.FailureDelay.Duration
	ac.MaxFailureDelay = cfg.Auth.MaxFailureDelay.Duration
	ac.FailureWindow = cfg.Auth.FailureWindow.Duration
	ac.CacheTTL, ac.CacheSize = cfg.Auth.CacheTTL.Duration, cfg.Auth.CacheSize
	ac.MaxConnsPerIP = cfg.Limits.MaxConnsPerIP
	ac.MaxConnsPerUser = cfg.Limits.MaxConnsPerUser
	ac.MaxConnsPerUserIP = cfg.Limits.MaxConnsPerUserIP
	ac.TrustedNetworks = trusted
	ac.MaxTokenBytes = cfg.Limits.OAuthTokenSize
	ac.NoRehash = !cfg.Auth.RehashOnLogin
	ac.SchemeLimits = SchemeLimits(&cfg)
	dir, err := NewDirectory(ctx, &a.cfg, d.Store, logger)
	if err != nil {
		d.Close()
		return nil, err
	}
	ac.Directory = dir
	if ac.OAuth, err = NewTokenVerifier(cfg.Auth.OAuth); err != nil {
		d.Close()
		return nil, err
	}
	a.auth = auth.New(auth.StoreAccounts{Store: d.Store}, ac, logger)
	a.registerStoreMetrics(d.Store)
	ml := mime.Limits{MaxDepth: cfg.Limits.MIMEDepth, MaxParts: cfg.Limits.MIMEParts, MaxHeaderBytes: cfg.Limits.HeaderSize}
	a.deliv = &deliver.Deliverer{Store: d.Store, Blobs: d.Blobs, Bus: a.bus, Limits: ml, Logger: logger,
		InlineMax: cfg.Storage.InlineMaxBytes}
	a.mbox = MailboxService(&cfg, d.Store, a.bus)
	a.imap = server.New(server.Config{
		Store:    d.Store,
		Blobs:    d.Blobs,
		Bus:      a.bus,
		Auth:     a.auth,
		Deliver:  a.deliv,
		TLS:      a.tlsCfg,
		Logger:   logger,
		Hostname: cfg.Hostname,
		// SEARCH FUZZY's stemmers (RFC 6203).
		FuzzyLanguages: cfg.IMAP.FuzzyLanguages,
		// MULTIAPPEND keeps at most this many bytes of inline messages
		// in memory until its commit; later ones go to blob files.
		MultiAppendInlineBudget: cfg.Storage.MultiAppendInlineBytes,
		// CATENATE and URLAUTH resolve URLs through the same service
		// BURL will use.
		URLAuth: &urlauth.Service{Store: d.Store, Blobs: d.Blobs},
		Limits: server.Limits{
			LineLength:          cfg.Limits.LineLength,
			LiteralSize:         cfg.Limits.LiteralSize,
			NestingDepth:        cfg.Limits.NestingDepth,
			CommandsBeforeLogin: cfg.Limits.CommandsBeforeLogin,
			LoginTimeout:        cfg.Limits.LoginTimeout.Duration,
			Autologout:          cfg.Limits.Autologout.Duration,
			IdleKeepalive:       cfg.IMAP.IdleKeepalive.Duration,
			SearchUpdates:       cfg.Limits.SearchUpdates,
			NotifyMailboxes:     cfg.Limits.NotifyMailboxes,
			NotifyPending:       cfg.Limits.NotifyPending,
			MIME:                ml,
		},
		AllowPlaintextAuth: cfg.IMAP.AllowPlaintextAuth,
		Quota:              server.QuotaConfig{Admins: cfg.Quota.Admins}, // quota.go
		Metadata:           imapMetadataConfig(cfg.Metadata),             // quota.go
		Trace:              cfg.LogLevel == "trace",
		Metrics:            a.obs.m,
		LogCommands:        a.logCommands(),
		Mailboxes:          a.mbox,
	})
	a.newPOP3()
	a.newSieve()
	return a, nil
}

// Data returns the opened stores.
func (a *App) Data() *Data { return a.data }

// Listen binds every configured listener. Call before dropping
// privileges.
func (a *App) Listen() error {
	bind := func(addr, name string, implicitTLS bool) error {
		if addr == "" {
			return nil
		}
		ln, err := a.listenTCP(addr)
		if err != nil {
			return fmt.Errorf("%s listener on %s: %w", name, addr, err)
		}
		a.listeners = append(a.listeners, listener{ln: ln, implicitTLS: implicitTLS, name: name})
		return nil
	}
	if err := bind(a.cfg.IMAP.Listen, "imap", false); err != nil {
		a.closeListeners()
		return err
	}
	if err := bind(a.cfg.IMAP.ListenTLS, "imaps", true); err != nil {
		a.closeListeners()
		return err
	}
	if err := a.listenLMTP(); err != nil {
		a.closeListeners()
		return err
	}
	if err := a.listenPOP3(); err != nil {
		a.closeListeners()
		return err
	}
	if err := a.listenSubmission(); err != nil {
		a.closeListeners()
		return err
	}
	if err := a.listenManageSieve(); err != nil {
		a.closeListeners()
		return err
	}
	if err := a.listenObserve(); err != nil {
		a.closeListeners()
		return err
	}
	if err := a.listenACME(); err != nil {
		a.closeListeners()
		return err
	}
	a.listenControl()
	return nil
}

func (a *App) closeListeners() {
	for _, l := range a.listeners {
		l.ln.Close()
	}
	a.listeners = nil
}

// Addrs returns the bound addresses by listener name ("imap", "imaps",
// "pop3", "pop3s", the LMTP ones).
func (a *App) Addrs() map[string]string {
	m := map[string]string{}
	for _, l := range a.listeners {
		m[l.name] = l.ln.Addr().String()
	}
	a.lmtpAddrs(m)
	a.pop3Addrs(m)
	a.submissionAddrs(m)
	a.sieveAddrs(m)
	a.observeAddrs(m)
	a.controlAddrs(m)
	a.acmeAddrs(m)
	return m
}

// Run serves until ctx is done, then shuts down cleanly: listeners
// close, in-flight commands finish, idle clients get BYE, and the
// database is closed. SIGHUP reloads the TLS certificate.
func (a *App) Run(ctx context.Context) error {
	if len(a.listeners) == 0 {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var wg sync.WaitGroup
	errc := make(chan error, len(a.listeners))
	for _, l := range a.listeners {
		a.log.Info("listening", "service", l.name, "addr", l.ln.Addr().String())
		wg.Add(1)
		go func(l listener) {
			defer wg.Done()
			if err := a.imap.Serve(l.ln, l.implicitTLS); err != nil && !errors.Is(err, server.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", l.name, err)
			}
		}(l)
	}
	a.listenChanges(ctx, &wg)
	a.serveLMTP(&wg, errc)
	a.servePOP3(&wg, errc)
	a.serveSubmission(&wg, errc)
	a.serveSieve(&wg, errc)
	a.serveObserve(&wg)
	a.serveControl(ctx, &wg)
	a.serveACME(ctx, &wg)
	stopIndexer := a.runTextIndexer(ctx, &wg) // fts.go
	// The periodic sweep removes blobs nothing references any more
	// (a crash, or a Discard that failed) and spool files no writer
	// owns, sparing everything younger than sweep_grace.
	sweepCtx, stopSweeper := context.WithCancel(ctx)
	defer stopSweeper()
	a.runSweeper(sweepCtx, &wg)
	// A password check that hashes allocates argon2id's memory (19 MiB
	// by default) that is garbage right after; every new session and
	// every message received leaves garbage too. Once a burst of logins
	// or deliveries is over (neither for a full second), hand the freed
	// heap back to the operating system when it is more than a floor
	// (memrelease.go): after 10,000 logins the process otherwise stays
	// hundreds of MB above its live size, while returning the few MB an
	// ordinary session leaves makes the next commands fault them back
	// in. Logins, not hashes, are counted: with the login cache most
	// logins do not hash, and counting hashes left 13 KiB of slack per
	// idle connection at 10,000 (38.6 KiB instead of 25.4 in the idle
	// benchmark).
	memTick := time.NewTicker(time.Second)
	defer memTick.Stop()
	memRel := newMemRelease()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			runErr = err
			break loop
		case <-hup:
			if err := a.certs.Reload(); err != nil {
				a.log.Error("certificate reload failed", "err", err)
			} else {
				a.log.Info("certificate reloaded")
			}
		case <-memTick.C:
			memRel.tick(a.auth.Logins() + a.deliv.Prepared())
		}
	}
	a.log.Info("shutting down")
	a.shutdownControl()
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a.shutdownLMTP(sctx)
	var swg sync.WaitGroup
	swg.Add(1)
	go func() { defer swg.Done(); a.shutdownPOP3(sctx) }()
	a.shutdownSubmission(sctx)
	a.shutdownSieve(sctx)
	a.imap.Shutdown(sctx)
	swg.Wait()
	a.shutdownObserve(sctx)
	a.shutdownACME(sctx)
	stopIndexer()
	stopSweeper()
	wg.Wait()
	a.auth.Directory().Close()
	if err := a.data.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// runSweeper runs the integrity sweep in its own goroutine until ctx
// ends: once at start, while the servers already serve (a million
// messages took it two minutes, which the listeners no longer wait
// for), then every sweep_interval, sparing everything younger than
// sweep_grace: the blobs nothing references any more (a crash, or a
// Discard that failed) and the spool files no writer owns.
func (a *App) runSweeper(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		if err := a.integritySweep(ctx, 0, a.startedAt); err != nil && ctx.Err() == nil {
			a.log.Warn("integrity sweep failed", "err", err)
		}
		a.log.Info("integrity sweep done", "took", time.Since(start).Round(time.Millisecond))
		tick := time.NewTicker(a.cfg.Storage.SweepInterval.Duration)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := a.integritySweep(ctx, a.cfg.Storage.SweepGrace.Duration, time.Time{}); err != nil && ctx.Err() == nil {
					a.log.Warn("integrity sweep failed", "err", err)
				}
			}
		}
	}()
}

// integritySweep removes blobs that no message references and that are
// older than grace, and reports message rows whose bytes are missing.
// After a crash between the blob write and the metadata commit there
// may be orphan blobs; there is never a row pointing to a missing blob
// unless the disk lost data, which is what the report is for.
//
// The start-up sweep (startedAt set) runs while the servers already
// serve: it removes only blobs written before this process started
// (decided by a blob store that can delete under its own lock by age;
// without one, by the listing's whole seconds, which only ever keep a
// blob too many), so that it never takes the bytes of a delivery this
// process is committing; the periodic sweep spares everything younger
// than grace.
// sweepDeleteBatch is how many unreferenced blobs the sweep deletes
// after one Store.Flush.
const sweepDeleteBatch = 256

func (a *App) integritySweep(ctx context.Context, grace time.Duration, startedAt time.Time) error {
	// A blob store other nodes share (file:///PATH, s3://) may hold a
	// blob another node has just committed and not yet referenced:
	// the start-up sweep keeps the grace period too.
	if a.cfg.SharedBlobs() {
		grace = max(grace, a.cfg.Storage.SweepGrace.Duration)
	}
	graceNow := func() time.Duration {
		if startedAt.IsZero() {
			return grace
		}
		return max(grace, time.Since(startedAt))
	}
	deleter, precise := a.data.Blobs.(interface {
		DeleteIfOlder(ctx context.Context, id string, age time.Duration) (bool, error)
	})
	// Blobs an earlier sweep moved to trash (blob/s3): deleted once they
	// have stayed there for the grace period unreferenced, put back if a
	// message references them after all.
	if tp, ok := a.data.Blobs.(interface {
		PurgeTrash(ctx context.Context, minAge time.Duration, inUse func(ctx context.Context, id string) (bool, error)) (int, int, error)
	}); ok {
		inUse := func(ctx context.Context, id string) (bool, error) { return store.BlobInUse(ctx, a.data.Store, id) }
		purged, restored, err := tp.PurgeTrash(ctx, max(graceNow(), time.Minute), inUse)
		if err != nil {
			return err
		}
		if purged > 0 || restored > 0 {
			a.log.Warn("integrity sweep", "orphan_blobs_purged", purged, "swept_blobs_restored", restored)
		}
	}
	// Spool files of writers that are gone (open writers' files are
	// never touched); at start (grace 0) a minute still protects a
	// "barid deliver" writing directly in another process.
	if ts, ok := a.data.Blobs.(blob.TmpSweeper); ok {
		n, err := ts.SweepTmp(ctx, max(graceNow(), time.Minute))
		if err != nil {
			return err
		}
		if n > 0 {
			a.log.Warn("integrity sweep", "orphan_spool_files_removed", n)
		}
	}
	// The referenced IDs, compactly (sweepset.go); each is marked once
	// its bytes are found.
	var refs blobSet
	if err := a.data.Store.BlobRefs(ctx, func(id string) error {
		refs.add(id)
		return nil
	}); err != nil {
		return err
	}
	refs.seal()
	// Inline bytes (store/sqlite) go in the transaction that deletes
	// their last message, so unreferenced rows are leftovers, removed at
	// once; the rest are present.
	if in, ok := a.data.Store.(interface {
		SweepInline(ctx context.Context) (int64, error)
		InlineIDs(ctx context.Context, fn func(id string) error) error
	}); ok {
		n, err := in.SweepInline(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			a.log.Warn("integrity sweep", "orphan_inline_blobs_removed", n)
		}
		if err := in.InlineIDs(ctx, func(id string) error {
			refs.mark(id)
			return nil
		}); err != nil {
			return err
		}
	}
	removed, missing := 0, 0
	// Unreferenced blobs are deleted in batches, each after a Flush of
	// the store: the expunge that removed a blob's last reference may be
	// committed but not yet durable ([storage] sync_index = false), and
	// a power loss must not bring back a message whose bytes are gone.
	// The flush comes after the batch's reference checks, so it covers
	// every commit they saw.
	var batch []string
	deleteBatch := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := a.data.Store.Flush(ctx); err != nil {
			return err
		}
		for _, id := range batch {
			// Re-check the age under the blob store's own lock when it
			// can, so a delivery that just reused this content keeps its
			// bytes.
			var derr error
			if precise {
				var deleted bool
				deleted, derr = deleter.DeleteIfOlder(ctx, id, graceNow())
				if derr == nil && !deleted {
					continue
				}
			} else {
				derr = a.data.Blobs.Delete(ctx, id)
			}
			if derr != nil && !errors.Is(derr, blob.ErrNotFound) {
				return derr
			}
			removed++
		}
		batch = batch[:0]
		return nil
	}
	err := a.data.Blobs.List(ctx, func(id string, age int64) error {
		if refs.mark(id) {
			return nil
		}
		// age is in whole seconds, the true age in [age, age+1): skipped
		// when it may be younger than grace; the start-up sweep, to take
		// the blob of a crash a moment before this start, skips only
		// what is surely younger and leaves the rest to DeleteIfOlder.
		grace := graceNow()
		if !startedAt.IsZero() && precise {
			if time.Duration(age+1)*time.Second <= grace {
				return nil
			}
		} else if time.Duration(age)*time.Second < grace {
			return nil
		}
		if ok, err := a.data.Store.BlobReferenced(ctx, id); err != nil || ok {
			return err
		}
		batch = append(batch, id)
		if len(batch) >= sweepDeleteBatch {
			return deleteBatch()
		}
		return nil
	})
	if err == nil {
		err = deleteBatch()
	}
	if err != nil {
		return err
	}
	// The references whose bytes were not found: read the IDs again
	// (the set keeps only their hashes), then check each outside the
	// store's read.
	var unseen []string
	if err := a.data.Store.BlobRefs(ctx, func(id string) error {
		if !refs.marked(id) {
			unseen = append(unseen, id)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, id := range unseen {
		// Re-check: the message may have gone (taking its inline row)
		// or come (with a new row, and new bytes) since the lists were
		// read.
		ok, err := a.data.Store.BlobReferenced(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if r, err := a.data.Blobs.Open(ctx, id); err == nil {
			r.Close()
			continue
		}
		missing++
		a.log.Error("message bytes missing", "blob", id)
	}
	if removed > 0 || missing > 0 {
		a.log.Warn("integrity sweep", "orphan_blobs_removed", removed, "rows_with_missing_bytes", missing)
	}
	return nil
}

// DataPath is a helper for tools: the path of a file in the data folder.
func DataPath(cfg *config.Config, name string) string { return filepath.Join(cfg.DataDir, name) }

// offIfZero maps the config's 0 ("off") to the store's negative (the
// store reads 0 as "default").
func offIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}
