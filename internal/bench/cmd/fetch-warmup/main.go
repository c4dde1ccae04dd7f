// Command fetch-warmup times one command (by default FETCH 1:* (FLAGS))
// to its tagged completion, several times on each of several new
// connections, each opened after the server was left idle for a while,
// reading the raw answer without parsing it (issue #21: a new
// connection's first FETCHes after an idle spell cost 2-4× the later
// ones). It prints each connection's times and the median of every
// connection's first three against the rest.
//
//	fetch-warmup -addr 127.0.0.1:143 -user user1 -password pass -mailbox Big -conns 6 -idle 3s -n 12
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:143", "IMAP server host:port")
	user := flag.String("user", "user1", "user")
	pass := flag.String("password", "password", "password")
	mbox := flag.String("mailbox", "Big", "mailbox to SELECT")
	conns := flag.Int("conns", 6, "connections, one after the other")
	n := flag.Int("n", 12, "commands per connection")
	idle := flag.Duration("idle", 3*time.Second, "idle time before each connection")
	cmd := flag.String("cmd", "FETCH 1:* (FLAGS)", "the command timed")
	flag.Parse()
	var firsts, rests []float64
	for c := 0; c < *conns; c++ {
		time.Sleep(*idle)
		ms, err := session(*addr, *user, *pass, *mbox, *cmd, *n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fetch-warmup:", err)
			os.Exit(1)
		}
		fmt.Printf("conn %d:", c)
		for i, d := range ms {
			fmt.Printf(" %.2f", d)
			if i < 3 {
				firsts = append(firsts, d)
			} else {
				rests = append(rests, d)
			}
		}
		fmt.Println()
	}
	fmt.Printf("median of the first three %.2f ms, of the rest %.2f ms\n", median(firsts), median(rests))
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	slices.Sort(x)
	return x[len(x)/2]
}

// session logs in, selects mbox and times cmd n times, in milliseconds.
func session(addr, user, pass, mbox, cmd string, n int) ([]float64, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	r := bufio.NewReaderSize(nc, 256<<10)
	tagn := 0
	do := func(line string) (time.Duration, error) {
		tagn++
		tag := fmt.Appendf(nil, "a%d ", tagn)
		t0 := time.Now()
		if _, err := nc.Write(append(append(tag, line...), "\r\n"...)); err != nil {
			return 0, err
		}
		for {
			l, err := r.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				return 0, err
			}
			if bytes.HasPrefix(l, tag) {
				if !bytes.HasPrefix(l[len(tag):], []byte("OK")) {
					return 0, fmt.Errorf("%s: %s", line, l)
				}
				return time.Since(t0), nil
			}
		}
	}
	if _, err := r.ReadSlice('\n'); err != nil { // greeting
		return nil, err
	}
	if _, err := do("LOGIN " + user + " " + pass); err != nil {
		return nil, err
	}
	if _, err := do("SELECT " + mbox); err != nil {
		return nil, err
	}
	var ms []float64
	for i := 0; i < n; i++ {
		d, err := do(cmd)
		if err != nil {
			return nil, err
		}
		ms = append(ms, float64(d.Microseconds())/1000)
	}
	_, err = do("LOGOUT")
	return ms, err
}
