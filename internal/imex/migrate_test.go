package imex

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseSource(t *testing.T) {
	for raw, want := range map[string]Source{
		"imaps://alice@mail.example.org":       {Login: "alice", Addr: "mail.example.org:993", Host: "mail.example.org", Implicit: true},
		"imap://bob%40example.org@[::1]:1143/": {Login: "bob@example.org", Addr: "[::1]:1143", Host: "::1"},
	} {
		got, err := ParseSource(raw)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", raw, got, err, want)
		}
	}
	for _, bad := range []string{"pop3://a@b", "imaps://b", "imaps://a:pw@b", "imap://a@b/INBOX", "imap://a@b?x=1", "imaps://a@"} {
		if _, err := ParseSource(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if s, _ := ParseSource("imaps://a%40b@h"); s.String() != "imaps://a%40b@h:993" {
		t.Errorf("String() = %q", s.String())
	}
}

// TestDialRefusesPlaintext: imap:// to a server that offers no STARTTLS
// on a non-loopback address is refused before any LOGIN is sent.
func TestDialRefusesPlaintext(t *testing.T) {
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("no non-loopback IPv4 address")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skip(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- ""
			return
		}
		defer c.Close()
		c.Write([]byte("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] plain only\r\n"))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		r := bufio.NewReader(c)
		var lines []string
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				break
			}
			lines = append(lines, l)
			if strings.Contains(strings.ToUpper(l), "CAPABILITY") {
				c.Write([]byte("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + strings.Fields(l)[0] + " OK done\r\n"))
			}
		}
		got <- strings.Join(lines, "")
	}()
	src := Source{Login: "alice", Addr: ln.Addr().String(), Host: ip.String()}
	_, err = src.Dial("secret", nil)
	if err == nil || !strings.Contains(err.Error(), "no STARTTLS") {
		t.Fatalf("plain-text IMAP to %s: err = %v", ip, err)
	}
	if sent := <-got; strings.Contains(sent, "secret") || strings.Contains(strings.ToUpper(sent), "LOGIN") {
		t.Fatalf("the client sent %q", sent)
	}
}

func TestProgressLine(t *testing.T) {
	p := NewProgress(nil, "import", false)
	p.AddTotal(200, 4<<20)
	for range 50 {
		p.Done(20<<10, false)
	}
	p.Done(0, true)
	l := p.Line()
	for _, want := range []string{"import [", "51/200 msgs", "1000.0 KiB/4.0 MiB", "(1 already there)", "msg/s", "elapsed", "left"} {
		if !strings.Contains(l, want) {
			t.Errorf("progress line %q lacks %q", l, want)
		}
	}
	p.Stop()
	if human(1536) != "1.5 KiB" || human(10) != "10 B" || human(3<<30) != "3.0 GiB" {
		t.Errorf("human: %s %s %s", human(1536), human(10), human(3<<30))
	}
}

func TestMboxPath(t *testing.T) {
	for name, want := range map[string]string{"INBOX": "INBOX", "A/B": "A/B", "../x": "%2E%2E/x", "a/./b": "a/%2E/b", "a//b": "a/%/b"} {
		if got := mboxPath(name); got != want {
			t.Errorf("mboxPath(%q) = %q, want %q", name, got, want)
		}
	}
}
