package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"

	"barid/internal/config"
	"barid/internal/metrics"
	"barid/internal/store"
	"barid/internal/store/sqlite"
)

// observeService is the monitoring side of an App: the Prometheus
// endpoint ([metrics] listen, --metrics) and the pprof listener
// ([debug] pprof, --pprof; BARID_DEBUG_ADDR still works).
type observeService struct {
	m       *metrics.Metrics // nil: metrics off
	lns     []listener       // "metrics", "pprof"
	servers []*http.Server
}

// PprofEnv is the environment variable read when [debug] pprof is
// empty (what internal/e2e's memory benchmark sets).
const PprofEnv = "BARID_DEBUG_ADDR"

// newMetrics creates the collectors when [metrics] listen is set.
func (a *App) newMetrics() {
	if a.cfg.Metrics.Listen != "" {
		a.obs.m = metrics.New()
	}
}

// logCommands: one debug line per command at log_level debug or trace.
func (a *App) logCommands() bool {
	return a.cfg.LogLevel == "debug" || a.cfg.LogLevel == "trace"
}

// commitObserver is the store writer's COMMIT hook, nil with metrics off.
func commitObserver(m *metrics.Metrics) func(time.Duration, bool) {
	if m == nil {
		return nil
	}
	return m.ObserveCommit
}

// registerStoreMetrics exports the counters the store and the
// authenticator already keep, read at scrape time: the SQLite writer's
// group commit, the flag index, the record cache and the login cache.
func (a *App) registerStoreMetrics(st store.Store) {
	m := a.obs.m
	if m == nil {
		return
	}
	if s, ok := st.(*sqlite.Store); ok {
		m.CounterFunc("barid_store_write_requests_total", "Write requests the SQLite writer executed.",
			func() float64 { return float64(s.Stats().Requests) })
		m.CounterFunc("barid_store_write_batches_total", "Transactions the SQLite writer ran (group commit: requests/batches is the mean batch).",
			func() float64 { return float64(s.Stats().Batches) })
		m.CounterFunc("barid_store_wal_syncs_total", "fdatasyncs of the SQLite WAL by the syncer ([storage] wal_sync = \"syncer\").",
			func() float64 { return float64(s.Stats().WALSyncs) })
		m.CounterFunc("barid_store_full_commits_total", "COMMITs with synchronous=FULL, the WAL fsync inside COMMIT ([storage] wal_sync = \"commit\").",
			func() float64 { return float64(s.Stats().FullCommits) })
		m.CounterFunc("barid_flag_index_hits_total", "Flag index consultations answered from memory.",
			func() float64 { return float64(s.CacheStats().FlagIndexHits) })
		m.CounterFunc("barid_flag_index_misses_total", "Flag index consultations that had to load or reload the mailbox.",
			func() float64 { return float64(s.CacheStats().FlagIndexMisses) })
		m.CounterFunc("barid_record_cache_hits_total", "Message records (envelope, structure, sizes) found in the record cache.",
			func() float64 { return float64(s.CacheStats().RecordHits) })
		m.CounterFunc("barid_record_cache_misses_total", "Message records read from SQLite into the record cache.",
			func() float64 { return float64(s.CacheStats().RecordMisses) })
		m.GaugeFunc("barid_flag_index_messages", "Messages the flag index holds (storage.flag_index_entries caps it).",
			func() float64 { return float64(s.CacheStats().FlagIndexEntries) })
		m.GaugeFunc("barid_flag_index_bytes", "Memory of the flag index's entries (28 bytes a message).",
			func() float64 { return float64(s.CacheStats().FlagIndexBytes) })
		m.GaugeFunc("barid_record_cache_bytes", "Bytes the record cache holds (storage.record_cache_bytes caps it).",
			func() float64 { return float64(s.CacheStats().RecordBytes) })
	}
	if ti, ok := st.(store.TextIndexer); ok {
		// The full-text indexer's backlog (docs/search.md): what
		// scripts/bench-vs-dovecot waits on between runs, so that one
		// run's indexing is not charged to the next.
		m.GaugeFunc("barid_fts_pending_contents", "Message contents waiting for the full-text index (the indexer's lag); NaN if the store did not answer.",
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				n, err := ti.TextIndexLag(ctx)
				if err != nil {
					return math.NaN()
				}
				return float64(n)
			})
	}
	au := a.auth
	m.CounterFunc("barid_login_cache_hits_total", "Password checks of existing accounts answered by the login cache.",
		func() float64 { h, _ := au.CacheStats(); return float64(h) })
	m.CounterFunc("barid_login_cache_misses_total", "Password checks of existing accounts that ran argon2id.",
		func() float64 { _, mi := au.CacheStats(); return float64(mi) })
	m.CounterFunc("barid_password_hashes_total", "argon2id verifications run (unknown users included).",
		func() float64 { return float64(au.Hashes()) })
}

// pprofAddr is [debug] pprof, or BARID_DEBUG_ADDR when that is empty.
func (a *App) pprofAddr() string {
	if a.cfg.Debug.Pprof != "" {
		return a.cfg.Debug.Pprof
	}
	return os.Getenv(PprofEnv)
}

// listenObserve binds the metrics and pprof listeners. The pprof
// address must be loopback, checked on the name and again on the
// address bound ("localhost" could resolve elsewhere).
func (a *App) listenObserve() error {
	if len(a.obs.lns) > 0 {
		return nil
	}
	if addr := a.cfg.Metrics.Listen; addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("metrics listener on %s: %w", addr, err)
		}
		a.obs.lns = append(a.obs.lns, listener{ln: ln, name: "metrics"})
	}
	if addr := a.pprofAddr(); addr != "" {
		if err := config.CheckLoopback(addr); err != nil {
			a.closeObserve()
			return fmt.Errorf("pprof listener: %w", err)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			a.closeObserve()
			return fmt.Errorf("pprof listener on %s: %w", addr, err)
		}
		if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
			ln.Close()
			a.closeObserve()
			return fmt.Errorf("pprof listener: %s bound %s, which is not a loopback address", addr, ln.Addr())
		}
		a.obs.lns = append(a.obs.lns, listener{ln: ln, name: "pprof"})
	}
	return nil
}

func (a *App) closeObserve() {
	for _, l := range a.obs.lns {
		l.ln.Close()
	}
	a.obs.lns = nil
}

func (a *App) observeAddrs(m map[string]string) {
	for _, l := range a.obs.lns {
		m[l.name] = l.ln.Addr().String()
	}
}

// serveObserve serves /metrics and /debug/pprof/ on their listeners.
func (a *App) serveObserve(wg *sync.WaitGroup) {
	for _, l := range a.obs.lns {
		mux := http.NewServeMux()
		switch l.name {
		case "metrics":
			mux.Handle("/metrics", a.obs.m.Handler())
			a.log.Info("listening", "service", "metrics", "addr", l.ln.Addr().String())
		case "pprof":
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
			// debug_addr: internal/e2e's memory benchmark reads it.
			a.log.Warn("debug listener (pprof, unauthenticated) enabled", "debug_addr", l.ln.Addr().String())
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
		a.obs.servers = append(a.obs.servers, srv)
		wg.Add(1)
		go func(ln net.Listener) {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Warn("http listener ended", "addr", ln.Addr().String(), "err", err)
			}
		}(l.ln)
	}
}

// shutdownObserve stops the HTTP listeners (a scrape in progress
// finishes, until ctx ends).
func (a *App) shutdownObserve(ctx context.Context) {
	for _, s := range a.obs.servers {
		if err := s.Shutdown(ctx); err != nil {
			s.Close()
		}
	}
}
