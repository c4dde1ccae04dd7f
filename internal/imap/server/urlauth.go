package server

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"barid/internal/imap"
	"barid/internal/urlauth"
)

// URLAUTH (RFC 4467) and extended URLFETCH (RFC 5524). The commands
// parse their arguments and render what internal/urlauth answers; the
// signing, the access rules and the reading of parts live there.

// urlauthError maps a urlauth error onto a tagged response: a URL or
// mechanism the command cannot take is BAD (as Dovecot answers
// GENURLAUTH), the rest NO.
func urlauthError(err error) error {
	var ue *urlauth.Error
	if !errors.As(err, &ue) {
		return err
	}
	if errors.Is(err, urlauth.ErrSyntax) {
		return &imap.Error{Type: "BAD", Text: ue.Msg}
	}
	return &imap.Error{Type: "NO", Text: ue.Msg}
}

func (c *Conn) urlauthOn() error {
	if !c.srv.cfg.URLAuth.Available() {
		return &imap.Error{Type: "BAD", Text: "URLAUTH disabled"}
	}
	return nil
}

// RFC 4467 §3.2 GENURLAUTH: 1*(SP url-rump SP mechanism). Either every
// URL is signed or the command fails; the answer is one untagged
// GENURLAUTH with the URLs in order.
func handleGenURLAuth(c *Conn, tag string) error {
	if err := c.urlauthOn(); err != nil {
		return err
	}
	var out []string
	for {
		var rump, mech string
		if !c.dec.ExpectSP() || !c.dec.ExpectAString(&rump) || !c.dec.ExpectSP() || !c.dec.ExpectAtom(&mech) {
			return c.dec.Err()
		}
		url, err := c.srv.cfg.URLAuth.Generate(c.ctx(), c.account, rump, mech)
		if err != nil {
			return urlauthError(err)
		}
		out = append(out, url)
		if c.dec.CRLF() {
			break
		}
		if err := c.dec.Err(); err != nil {
			return err
		}
	}
	c.enc.RawString("* GENURLAUTH")
	for _, u := range out {
		c.enc.SP().Quoted(u)
	}
	c.enc.CRLF()
	return c.ok(tag, "", "GENURLAUTH completed.")
}

// RFC 4467 §3.1 RESETKEY [SP mailbox *(SP mechanism)]: without a
// mailbox every key of the user is removed; with one, that mailbox's
// key, for the mechanisms named (INTERNAL is the only one).
func handleResetKey(c *Conn, tag string) error {
	if err := c.urlauthOn(); err != nil {
		return err
	}
	if c.dec.CRLF() {
		if err := c.srv.cfg.URLAuth.ResetKeys(c.ctx(), c.account, ""); err != nil {
			return err
		}
		return c.ok(tag, "", "All keys removed.")
	}
	if !c.dec.ExpectSP() {
		return c.dec.Err()
	}
	name, err := c.readMailbox()
	if err != nil {
		return err
	}
	for !c.dec.CRLF() {
		var mech string
		if !c.dec.ExpectSP() || !c.dec.ExpectAString(&mech) {
			return c.dec.Err()
		}
		if !strings.EqualFold(mech, urlauth.Mechanism) {
			return &imap.Error{Type: "NO", Text: "Unsupported URLAUTH mechanism: " + mech}
		}
	}
	if err := c.srv.cfg.URLAuth.ResetKeys(c.ctx(), c.account, name); err != nil {
		return err
	}
	if c.sel != nil && c.sel.mbox.Name == name {
		// RFC 4467 §3.1: a session with the mailbox selected is told
		// the mechanisms that remain.
		c.enc.RawString("* OK [URLMECH INTERNAL] Key reset").CRLF()
	}
	return c.ok(tag, imap.CodeURLMech+" "+urlauth.Mechanism, "Key removed.")
}

// urlFetchArg is one argument of URLFETCH: a URL, with the RFC 5524
// parameters when it came as a parenthesized list.
type urlFetchArg struct {
	url      string
	extended bool
	want     urlauth.Want
}

// RFC 4467 §3.3 URLFETCH 1*(SP url), RFC 5524 §3 url-fetch-arg = url /
// "(" url *(SP ("BODYPARTSTRUCTURE" / "BINARY" / "BODY")) ")". Each URL
// gets one untagged URLFETCH, NIL when it cannot be fetched; the
// command itself succeeds.
func handleURLFetch(c *Conn, tag string) error {
	if err := c.urlauthOn(); err != nil {
		return err
	}
	var args []urlFetchArg
	for {
		if !c.dec.ExpectSP() {
			return c.dec.Err()
		}
		a := urlFetchArg{want: urlauth.WantBody}
		if c.dec.Special('(') {
			a.extended, a.want = true, 0
			if !c.dec.ExpectAString(&a.url) {
				return c.dec.Err()
			}
			for !c.dec.Special(')') {
				var p string
				if !c.dec.ExpectSP() || !c.dec.ExpectAtom(&p) {
					return c.dec.Err()
				}
				switch strings.ToUpper(p) {
				case "BODY":
					a.want |= urlauth.WantBody
				case "BINARY":
					a.want |= urlauth.WantBinary
				case "BODYPARTSTRUCTURE":
					a.want |= urlauth.WantStructure
				default:
					return &imap.Error{Type: "BAD", Text: "Unknown URL fetch parameter: " + p}
				}
			}
			if a.want&urlauth.WantBody != 0 && a.want&urlauth.WantBinary != 0 {
				return &imap.Error{Type: "BAD", Text: "URL cannot have both BODY and BINARY fetch parameters"}
			}
			if a.want == 0 {
				a.want = urlauth.WantBody
			}
		} else if !c.dec.ExpectAString(&a.url) {
			return c.dec.Err()
		}
		args = append(args, a)
		if c.dec.CRLF() {
			break
		}
		if err := c.dec.Err(); err != nil {
			return err
		}
	}
	id := urlauth.Identity{User: c.account.Name}
	for _, a := range args {
		if err := c.urlFetchOne(a, id); err != nil {
			return err
		}
	}
	return c.ok(tag, "", "URLFETCH completed.")
}

// binaryScanMax is how much of a BINARY result URLFETCH holds to learn
// whether it has NUL bytes (then it goes out as literal8, RFC 3516
// §4.2, as Dovecot decides); a larger result is sent as literal8.
const binaryScanMax = 1 << 20

func (c *Conn) urlFetchOne(a urlFetchArg, id urlauth.Identity) error {
	p, err := c.srv.cfg.URLAuth.Fetch(c.ctx(), a.url, id, a.want)
	undecodable := false
	if errors.Is(err, urlauth.ErrUndecodable) && a.want&urlauth.WantBinary != 0 {
		// RFC 5524 §5: on a decoding error the BINARY item is NIL; the
		// other items are still sent.
		undecodable = true
		p, err = c.srv.cfg.URLAuth.Fetch(c.ctx(), a.url, id, a.want&^urlauth.WantBinary)
	}
	if err != nil {
		var ue *urlauth.Error
		if !errors.As(err, &ue) {
			return err
		}
		c.log.Debug("urlfetch refused", "err", err)
		c.enc.RawString("* URLFETCH ").String(a.url).RawString(" NIL").CRLF()
		return c.encErr()
	}
	defer p.Close()
	c.enc.RawString("* URLFETCH ").String(a.url).SP()
	if !a.extended {
		c.enc.Literal(p.Size, p.Body).CRLF()
		return c.encErr()
	}
	// RFC 5524 §5: url-metadata = 1*(SP "(" url-metadata-el ")"), in
	// the order BODYPARTSTRUCTURE, then BODY or BINARY.
	sep := ""
	if a.want&urlauth.WantStructure != 0 {
		c.enc.RawString("(BODYPARTSTRUCTURE ").Raw(p.Structure).Special(')')
		sep = " "
	}
	switch {
	case undecodable:
		c.enc.RawString(sep + "(BINARY NIL)")
	case a.want&urlauth.WantBinary != 0:
		// Content with NUL octets MUST go as literal8 (RFC 5524 §3.2);
		// the result is held (up to binaryScanMax) to find out, as
		// Dovecot decides; a larger one is sent as literal8.
		body, lit8 := p.Body, true
		if p.Size <= binaryScanMax {
			b := make([]byte, p.Size)
			if _, err := io.ReadFull(p.Body, b); err != nil {
				return err
			}
			body, lit8 = bytes.NewReader(b), bytes.IndexByte(b, 0) >= 0
		}
		c.enc.RawString(sep + "(BINARY ")
		if lit8 {
			c.enc.Literal8(p.Size, body)
		} else {
			c.enc.Literal(p.Size, body)
		}
		c.enc.Special(')')
	case a.want&urlauth.WantBody != 0:
		c.enc.RawString(sep+"(BODY ").Literal(p.Size, p.Body).Special(')')
	}
	c.enc.CRLF()
	return c.encErr()
}

func (c *Conn) encErr() error {
	if err := c.enc.Err(); err != nil {
		return &ioError{err}
	}
	return nil
}
