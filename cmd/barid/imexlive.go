package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"barid/internal/admin"
	"barid/internal/imex"
)

// serverAnswers reports whether a server accepts connections on the
// unix socket at path.
func serverAnswers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// importThroughServer hands "barid import" to the server running on
// the data folder (the control socket's import op, internal/admin): the
// server imports on its own store, so the store keeps one writer and
// its sessions see the mail arrive. Progress lines come back on the
// socket; an interrupt closes the connection, which stops the import
// after the batch being written (the same command resumes).
func importThroughServer(ctx context.Context, sock, kind, user, path, mailbox string, quiet bool, stdout, stderr io.Writer) int {
	abs, err := filepath.Abs(path)
	if err != nil {
		fmt.Fprintln(stderr, "barid import:", err)
		return 1
	}
	cl, err := admin.Dial(sock)
	if err != nil {
		fmt.Fprintln(stderr, "barid import:", err)
		return 1
	}
	defer cl.Close()
	stopWatch := context.AfterFunc(ctx, func() { cl.Close() })
	defer stopWatch()
	if !quiet {
		fmt.Fprintf(stderr, "barid import: a server runs on this data folder; it imports %s (it must be able to read it)\n", abs)
	}
	req := admin.Request{Op: "import", User: user, Kind: kind, Path: abs}
	if kind == "mbox" {
		req.Mailbox = mailbox
	}
	resp, err := cl.Stream(req, func(line string) {
		if !quiet {
			fmt.Fprintln(stderr, line)
		}
	})
	var res []*imex.Result
	if resp != nil {
		res = resp.Imports
	}
	failed := printResults(stdout, res)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "barid import: interrupted; what was committed stays, run the same command again to resume")
			return 1
		}
		fmt.Fprintln(stderr, "barid import: server:", err)
		if strings.Contains(err.Error(), context.Canceled.Error()) {
			fmt.Fprintln(stderr, "barid import: interrupted; what was committed stays, run the same command again to resume")
		}
		return 1
	}
	if failed > 0 {
		return 1
	}
	return 0
}
