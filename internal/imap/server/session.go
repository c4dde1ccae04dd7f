package server

import (
	"fmt"
	"strings"

	"barid/internal/imap"
)

// writeCapabilities writes the space-separated capability list for the
// current state (without a leading "CAPABILITY " atom prefix handling:
// it writes "CAPABILITY cap1 cap2 ...").
func (c *Conn) writeCapabilities() {
	c.enc.RawString("CAPABILITY")
	for _, cp := range c.capabilities() {
		c.enc.SP().RawString(cp)
	}
}

// capabilities lists what this connection may use now (RFC 9051 §6.1.1).
func (c *Conn) capabilities() []string {
	caps := []string{
		"IMAP4rev1", // RFC 3501
		"IMAP4rev2", // RFC 9051
		"LITERAL+",  // RFC 7888
		"SASL-IR",   // RFC 4959
		"ID",        // RFC 2971
		"ENABLE",    // RFC 5161
		"IDLE",      // RFC 2177
	}
	if c.state == StateNotAuthenticated {
		if !c.tls && c.srv.cfg.TLS != nil {
			caps = append(caps, "STARTTLS") // RFC 9051 §6.2.1
		}
		if c.plaintextAllowed() {
			for _, m := range c.mechanisms() {
				caps = append(caps, "AUTH="+m)
			}
		} else {
			caps = append(caps, "LOGINDISABLED") // RFC 9051 §6.2.3
		}
		return caps
	}
	caps = append(caps,
		"NAMESPACE",             // RFC 2342
		"UIDPLUS",               // RFC 4315
		"UNSELECT",              // RFC 3691
		"MOVE",                  // RFC 6851
		"CHILDREN",              // RFC 3348
		"LIST-EXTENDED",         // RFC 5258
		"LIST-STATUS",           // RFC 5819
		"SPECIAL-USE",           // RFC 6154
		"STATUS=SIZE",           // RFC 8438
		"ESEARCH",               // RFC 4731
		"SEARCH=FUZZY",          // RFC 6203
		"SEARCHRES",             // RFC 5182
		"BINARY",                // RFC 3516
		"UTF8=ACCEPT",           // RFC 6855
		"CONDSTORE",             // RFC 7162
		"QRESYNC",               // RFC 7162
		"SAVEDATE",              // RFC 8514
		"MULTIAPPEND",           // RFC 3502
		"WITHIN",                // RFC 5032 (OLDER, YOUNGER)
		"SORT",                  // RFC 5256
		"COMPRESS=DEFLATE",      // RFC 4978
		"OBJECTID",              // RFC 8474
		"PREVIEW",               // RFC 8970
		"REPLACE",               // RFC 8508
		"CREATE-SPECIAL-USE",    // RFC 6154 §3
		"UNAUTHENTICATE",        // RFC 8437
		"SORT=DISPLAY",          // RFC 5957
		"THREAD=ORDEREDSUBJECT", // RFC 5256
		"THREAD=REFERENCES",     // RFC 5256
		"ESORT",                 // RFC 5267 §3
		"CONTEXT=SEARCH",        // RFC 5267 §4
		"CONTEXT=SORT",          // RFC 5267 §4
		"NOTIFY",                // RFC 5465
		"UIDONLY",               // RFC 9586
		"MULTISEARCH",           // RFC 7377
		fmt.Sprintf("APPENDLIMIT=%d", c.srv.cfg.Limits.LiteralSize), // RFC 7889
		"CATENATE",      // RFC 4469
		"URL-PARTIAL",   // RFC 5550
		"ACL",           // RFC 4314
		"RIGHTS=texk",   // RFC 4314 §2.1.1
		"LIST-MYRIGHTS", // RFC 8440
	)
	caps = append(caps, c.quotaCapabilities()...)    // RFC 9208, quota.go
	caps = append(caps, c.metadataCapabilities()...) // RFC 5464, metadata.go
	if c.srv.cfg.URLAuth.Available() {
		caps = append(caps,
			"URLAUTH",        // RFC 4467
			"URLAUTH=BINARY", // RFC 5524
		)
	}
	return caps
}

func (c *Conn) mechanisms() []string {
	if c.srv.cfg.Auth == nil {
		return nil
	}
	return c.srv.cfg.Auth.Mechanisms(c.tls)
}

// plaintextAllowed: no cleartext passwords over an unencrypted link,
// except from loopback or when the operator allows it.
func (c *Conn) plaintextAllowed() bool {
	return c.tls || c.loopback || c.srv.cfg.AllowPlaintextAuth
}

// RFC 9051 §6.1.1
func handleCapability(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	c.enc.RawString("* ")
	c.writeCapabilities()
	c.enc.CRLF()
	return c.ok(tag, "", "Capability completed.")
}

// RFC 3501 §6.4.1 CHECK (removed by rev2): every write is already
// durable, so it is a NOOP that reports pending updates.
func handleCheck(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	return c.ok(tag, "", "Check completed.")
}

// RFC 9051 §6.1.2 NOOP.
func handleNoop(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	return c.ok(tag, "", "NOOP completed.")
}

// RFC 9051 §6.1.3
func handleLogout(c *Conn, tag string) error {
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	c.enc.RawString("* BYE Logging out").CRLF()
	c.state = StateLogout
	return c.ok(tag, "", "Logout completed.")
}

// RFC 2971: ID ( "name" "value" ... ) / NIL. We log the client's ID and
// answer with ours.
func handleID(c *Conn, tag string) error {
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	var fields []string
	var atom string
	if c.dec.Atom(&atom) {
		if !strings.EqualFold(atom, "NIL") {
			return &imap.Error{Type: "BAD", Text: "ID expects a parameter list or NIL"}
		}
	} else if !c.dec.ExpectList(func() bool {
		var s string
		var isNil bool
		if !c.dec.NString(&s, &isNil) {
			return false
		}
		if len(fields) < 60 {
			fields = append(fields, s)
		}
		return true
	}) {
		return c.dec.Err()
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if len(fields) > 0 {
		c.log.Info("client id", "id", strings.Join(fields, " "))
	}
	c.enc.RawString(`* ID ("name" "barid" "vendor" "barid")`).CRLF()
	return c.ok(tag, "", "ID completed.")
}

// RFC 5161 ENABLE; RFC 9051 §6.3.1.
func handleEnable(c *Conn, tag string) error {
	var caps []string
	for c.dec.SP() {
		var a string
		if !c.dec.ExpectAtom(&a) {
			return c.dec.Err()
		}
		caps = append(caps, a)
	}
	if !c.dec.ExpectCRLF() {
		return c.dec.Err()
	}
	if len(caps) == 0 {
		return &imap.Error{Type: "BAD", Text: "ENABLE needs at least one capability"}
	}
	var enabled []string
	for _, cp := range caps {
		switch strings.ToUpper(cp) {
		case "IMAP4REV2":
			if !c.rev2 {
				c.rev2 = true
				c.utf8 = true
				c.enc.SetUTF8(true)
				enabled = append(enabled, "IMAP4rev2")
			}
		case "UTF8=ACCEPT":
			if !c.utf8 {
				c.utf8 = true
				c.enc.SetUTF8(true)
				enabled = append(enabled, "UTF8=ACCEPT")
			}
		case "CONDSTORE":
			if !c.condstore {
				c.condstore = true
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			// RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
			if !c.qresync {
				c.qresync = true
				c.condstore = true
				enabled = append(enabled, "QRESYNC")
			}
		case "UIDONLY":
			// RFC 9586 §3.1. It stays on for the rest of the
			// connection; QRESYNC and CONDSTORE may be enabled
			// before, with or after it.
			if !c.uidonly {
				c.uidonly = true
				enabled = append(enabled, "UIDONLY")
			}
		}
	}
	c.enc.RawString("* ENABLED")
	for _, e := range enabled {
		c.enc.SP().RawString(e)
	}
	c.enc.CRLF()
	return c.ok(tag, "", "Enabled.")
}
