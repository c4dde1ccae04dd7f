package app

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
)

// startDebug starts an opt-in profiling listener (net/http/pprof) when
// the environment variable BARID_DEBUG_ADDR names an address, e.g.
// BARID_DEBUG_ADDR=127.0.0.1:6060. It is for measurements
// (internal/e2e BenchmarkIdleConnMemory: heap and goroutines per idle
// connection) and debugging, never for production: it has no
// authentication, so bind it to loopback.
func startDebug(logger *slog.Logger) {
	addr := os.Getenv("BARID_DEBUG_ADDR")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Error("debug listener", "addr", addr, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	logger.Warn("debug listener (pprof, unauthenticated) enabled", "debug_addr", ln.Addr().String())
	go http.Serve(ln, mux) //nolint:errcheck // lives as long as the process
}
