package quickack

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// nagleExchange runs rounds of a request/reply exchange over loopback
// with a client that leaves Nagle on and splits every request in two
// writes, as imaplib does with a literal and its CRLF, and returns the
// median round time. serve handles one request on the server side.
func nagleExchange(t *testing.T, rounds int, wrap bool, serve func(c net.Conn, ack *Conn, br *bufio.Reader) error, send func(c net.Conn, br *bufio.Reader) error) time.Duration {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer nc.Close()
		if wrap {
			nc = Wrap(nc, Partial)
		}
		br := bufio.NewReaderSize(nc, 2048)
		for {
			if err := serve(nc, Of(nc), br); err != nil {
				if err == io.EOF {
					err = nil
				}
				done <- err
				return
			}
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// Like a C or Python client: Go sets TCP_NODELAY by default.
	nc.(*net.TCPConn).SetNoDelay(false)
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(nc)
	var times []time.Duration
	for range rounds {
		start := time.Now()
		if err := send(nc, br); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	nc.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slices.Sort(times)
	return times[len(times)/2]
}

func readLine(br *bufio.Reader) (string, error) {
	s, err := br.ReadString('\n')
	return strings.TrimRight(s, "\r\n"), err
}

// maxMedian is far below the 40 ms delayed-ACK timer and far above a
// loopback round trip on a loaded machine.
const maxMedian = 10 * time.Millisecond

// A command written in two parts ("tag NOOP", then CRLF): the server
// reads a partial line and must ACK it for Nagle to release the CRLF.
func TestSplitCommandNotStalledByDelayedACK(t *testing.T) {
	if !Supported {
		t.Skip("TCP_QUICKACK is Linux-only")
	}
	med := nagleExchange(t, 20, true,
		func(c net.Conn, _ *Conn, br *bufio.Reader) error {
			if _, err := readLine(br); err != nil {
				return err
			}
			_, err := io.WriteString(c, "a OK done\r\n")
			return err
		},
		func(c net.Conn, br *bufio.Reader) error {
			io.WriteString(c, "a NOOP")
			io.WriteString(c, "\r\n")
			_, err := readLine(br)
			return err
		})
	if med > maxMedian {
		t.Fatalf("median round of a two-write command with Nagle on took %v (> %v): the server's delayed ACK held the client's CRLF (the 40 ms stall quickack prevents)", med, maxMedian)
	}
}

// A synchronizing literal: "+", then the literal (ending in LF) and its
// CRLF in two writes; the server calls Arm after the continuation. Sizes
// below and above the smallest MSS, as the kernel treats them apart.
func TestLiteralAfterContinuationNotStalledByDelayedACK(t *testing.T) {
	if !Supported {
		t.Skip("TCP_QUICKACK is Linux-only")
	}
	for _, size := range []int{7, 1000, 3000} {
		literalRounds(t, size)
	}
}

func literalRounds(t *testing.T, size int) {
	lit := strings.Repeat("x", size-2) + "\r\n"
	med := nagleExchange(t, 20, true,
		func(c net.Conn, ack *Conn, br *bufio.Reader) error {
			// A new command: "a APPEND {N}".
			ack.Disarm()
			if _, err := readLine(br); err != nil {
				return err
			}
			io.WriteString(c, "+ Ready\r\n")
			ack.Arm()
			buf := make([]byte, size+2)
			if _, err := io.ReadFull(br, buf); err != nil {
				return err
			}
			_, err := io.WriteString(c, "a OK appended\r\n")
			return err
		},
		func(c net.Conn, br *bufio.Reader) error {
			fmt.Fprintf(c, "a APPEND {%d}\r\n", size)
			if _, err := readLine(br); err != nil {
				return err
			}
			io.WriteString(c, lit)
			io.WriteString(c, "\r\n")
			_, err := readLine(br)
			return err
		})
	if med > maxMedian {
		t.Fatalf("median APPEND-like round (%d-octet literal) with Nagle on took %v (> %v): the literal's ACK was delayed, holding the client's CRLF (the 40 ms stall quickack prevents)", size, med, maxMedian)
	}
}

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Wrap(a, Partial) != a || Of(a) != nil {
		t.Fatal("a net.Pipe conn must be returned unwrapped")
	}
	var nilConn *Conn
	nilConn.Ack() // must not panic
	if _, ok := TCP(a); ok {
		t.Fatal("TCP(pipe) reported a TCP connection")
	}
}
