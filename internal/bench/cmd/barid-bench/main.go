// Command barid-bench runs the benchmark suite stand-alone, as
// "barid bench" will once cmd/barid wires bench.Main in.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"barid/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := bench.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
