#!/usr/bin/env python3
"""A whole IMAP session with Python's imaplib over STARTTLS, with the
certificate pinned to barid's self-signed one. Exit status 0 = pass.

usage: imaplib_session.py HOST PORT CERTFILE USER PASSWORD
"""
import imaplib
import ssl
import sys


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)


def main():
    host, port, cert, user, password = sys.argv[1:6]
    ctx = ssl.create_default_context(cafile=cert)  # pin: trust only barid's cert
    ctx.check_hostname = True
    m = imaplib.IMAP4(host, int(port))
    typ, caps = m.capability()
    check(b"STARTTLS" in caps[0], "STARTTLS advertised before TLS")
    m.starttls(ssl_context=ctx)
    typ, caps = m.capability()
    check(b"STARTTLS" not in caps[0], "STARTTLS not advertised after TLS")
    typ, _ = m.login(user, password)
    check(typ == "OK", "login")
    typ, boxes = m.list()
    names = [b.decode() for b in boxes]
    check(any(n.endswith(" INBOX") for n in names), "INBOX listed: %r" % names)
    check(any("\\Sent" in n for n in names), "special-use listed: %r" % names)
    typ, _ = m.create("py/test")
    check(typ == "OK", "create")
    msg = (b"From: py@example.org\r\nTo: you@example.org\r\nSubject: from imaplib\r\n"
           b"Date: Wed, 07 Jan 2026 12:00:00 +0000\r\n\r\nline one\r\nline two\r\n")
    typ, data = m.append("INBOX", "(\\Flagged)", imaplib.Time2Internaldate(1767787200), msg)
    check(typ == "OK" and b"APPENDUID" in data[0], "append: %r" % data)
    typ, data = m.select("INBOX")
    check(typ == "OK" and data[0] == b"1", "select: %r" % data)
    typ, data = m.fetch("1", "(FLAGS RFC822.SIZE BODY.PEEK[])")
    check(typ == "OK", "fetch")
    body = data[0][1]
    check(body == msg, "fetched bytes equal appended bytes")
    check(b"\\Flagged" in data[0][0], "flags in fetch: %r" % data[0][0])
    check(b"RFC822.SIZE %d" % len(msg) in data[0][0], "size: %r" % data[0][0])
    typ, data = m.search(None, "SUBJECT", '"from imaplib"', "FLAGGED")
    check(data[0] == b"1", "search: %r" % data)
    typ, data = m.uid("SEARCH", "ALL")
    check(data[0] == b"1", "uid search: %r" % data)
    typ, data = m.store("1", "+FLAGS", "(\\Seen)")
    check(b"\\Seen" in data[0], "store: %r" % data)
    typ, data = m.copy("1", "py/test")
    check(typ == "OK", "copy")
    typ, data = m.status("py/test", "(MESSAGES UNSEEN)")
    check(b"MESSAGES 1" in data[0] and b"UNSEEN 0" in data[0], "status: %r" % data)
    typ, data = m.store("1", "+FLAGS.SILENT", "(\\Deleted)")
    typ, data = m.expunge()
    check(typ == "OK" and data[0] == b"1", "expunge: %r" % data)
    typ, data = m.select("py/test", readonly=True)
    check(data[0] == b"1", "examine: %r" % data)
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    check(data[0][1] == b"Subject: from imaplib\r\n\r\n", "header fields: %r" % data)
    m.close()
    typ, _ = m.delete("py/test")
    check(typ == "OK", "delete")
    m.logout()
    print("imaplib session ok")


if __name__ == "__main__":
    main()
