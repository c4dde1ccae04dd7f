package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"barid/internal/blob/s3"
	"barid/internal/blob/s3/s3test"
	"barid/internal/testkit"
)

// appendAndFetch APPENDs msg as alice, then checks that BODY[] and a
// partial BODY[]<off.100> across the end of the first part return its
// bytes (RFC 9051 §6.3.12, §6.4.5).
func appendAndFetch(t *testing.T, addr, msg string) {
	t.Helper()
	c, r := imapLogin(t, addr)
	fmt.Fprintf(c, "b APPEND INBOX {%d}\r\n", len(msg))
	if l := readLine(t, r); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND: %q", l)
	}
	io.WriteString(c, msg+"\r\n")
	if l := readLine(t, r); !strings.HasPrefix(l, "b OK") {
		t.Fatalf("APPEND: %q", l)
	}
	fmt.Fprintf(c, "c SELECT INBOX\r\n")
	for l := readLine(t, r); !strings.HasPrefix(l, "c "); l = readLine(t, r) {
	}
	off := min(len(msg)-50, s3.DefaultPartSize-50)
	fmt.Fprintf(c, "d FETCH 1 (BODY.PEEK[] BODY.PEEK[]<%d.100>)\r\n", off)
	got := readFetchLiterals(t, c, r, "d")
	if len(got) != 2 {
		t.Fatalf("FETCH returned %d literals", len(got))
	}
	if !bytes.Equal(got[0], []byte(msg)) {
		t.Fatalf("BODY[]: %d bytes that differ from the %d appended", len(got[0]), len(msg))
	}
	if want := msg[off:min(off+100, len(msg))]; string(got[1]) != want {
		t.Fatalf("BODY[]<%d.100> = %q, want %q", off, got[1], want)
	}
}

// readFetchLiterals reads the answer of a FETCH until its tagged line
// and returns the literals in order.
func readFetchLiterals(t *testing.T, c net.Conn, r *bufio.Reader, tag string) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		l := readLine(t, r)
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				t.Fatalf("FETCH: %q", l)
			}
			return out
		}
		for {
			n, ok := testkit.LiteralSuffix(strings.TrimRight(l, "\r\n"))
			if !ok {
				break
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatal(err)
			}
			out = append(out, buf)
			l = readLine(t, r) // the rest of the response after the literal
		}
	}
}

// A server whose blobs are in S3 stores a large message (over
// inline_max_bytes and over one multipart part, so it is streamed in a
// multipart upload) as one object blob/<sha256> in the bucket, nothing
// under the data folder, and reads it back whole and by range.
func TestS3BlobsLargeMessage(t *testing.T) {
	url := s3test.URL(t)
	s := testkit.Start(t, testkit.WithBlobs(url))
	s.AddUser("alice", "pw")
	msg := messageBody(s3.DefaultPartSize + 700<<10)
	appendAndFetch(t, s.Addr, msg)

	if _, err := os.Stat(filepath.Join(s.Dir, "blobs")); !os.IsNotExist(err) {
		t.Errorf("data folder has a blobs/ folder with blobs on S3 (%v)", err)
	}
	o, err := s3.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(msg))
	var ids []string
	if err := st.List(context.Background(), func(id string, _ int64) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != hex.EncodeToString(sum[:]) {
		t.Fatalf("bucket holds %v, want the one blob %x", ids, sum)
	}
	// A second server on another data folder with the same bucket (and
	// the same metadata it would share in production) reads the bytes:
	// here, the start-up sweep of a shared store keeps sweep_grace, so a
	// node starting beside a live one leaves its fresh, not yet
	// referenced blob alone.
	s2 := testkit.Start(t, testkit.WithBlobs(url))
	s2.Stop()
	// List, not Open (which would put a swept blob back from trash/).
	ids = nil
	if err := st.List(context.Background(), func(id string, _ int64) error { ids = append(ids, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("after another node's start-up sweep the bucket holds %v", ids)
	}
}

// A file:///PATH blob folder (one all nodes mount) takes the blob files
// instead of the data folder.
func TestFileBlobsFolder(t *testing.T) {
	shared := t.TempDir()
	s := testkit.Start(t, testkit.WithBlobs("file://"+shared))
	s.AddUser("alice", "pw")
	msg := messageBody(300 << 10)
	appendAndFetch(t, s.Addr, msg)
	sum := sha256.Sum256([]byte(msg))
	id := hex.EncodeToString(sum[:])
	if _, err := os.Stat(filepath.Join(shared, id[:2], id)); err != nil {
		t.Fatalf("blob not in the shared folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "blobs")); !os.IsNotExist(err) {
		t.Errorf("data folder has a blobs/ folder (%v)", err)
	}
}
