package main

import (
	"flag"
	"io"
	"testing"
)

// --pop3 and --pop3s override [pop3]; "off" disables, as for --imap.
func TestPOP3Flags(t *testing.T) {
	for _, tc := range []struct {
		args            []string
		listen, tlsAddr string
	}{
		{nil, "", ""},
		{[]string{"--pop3", "127.0.0.1:1110", "--pop3s", "127.0.0.1:1995"}, "127.0.0.1:1110", "127.0.0.1:1995"},
		{[]string{"--pop3", "off", "--pop3s", "off"}, "", ""},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var f serveFlags
		f.register(fs)
		if err := fs.Parse(append([]string{"--data", t.TempDir()}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.POP3.Listen != tc.listen || cfg.POP3.ListenTLS != tc.tlsAddr {
			t.Errorf("%v: %+v", tc.args, cfg.POP3)
		}
	}
}
