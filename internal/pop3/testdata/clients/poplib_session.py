#!/usr/bin/env python3
"""Two POP3 sessions with Python's poplib as shipped: one over STLS and
one over implicit TLS (POP3_SSL), the certificate pinned to barid's
self-signed one. The Go test (clients_test.go) stored two messages; this
checks CAPA, STAT, LIST, UIDL, TOP and RETR (poplib undoes the
dot-stuffing) against them, deletes the first and quits.
Exit status 0 = pass.

usage: poplib_session.py HOST PORT TLSPORT CERTFILE USER PASSWORD
"""
import poplib
import ssl
import sys

MSG1 = [b"From: a@example.org", b"Subject: one", b"", b".leading dot", b"..two dots", b"."]
MSG2 = [b"From: b@example.org", b"Subject: two", b"", b"line 1", b"line 2", b"line 3"]


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)


def octets(lines):
    return sum(len(l) + 2 for l in lines)


def main():
    host, port, tlsport, cert, user, password = sys.argv[1:7]
    ctx = ssl.create_default_context(cafile=cert)  # pin: trust only barid's cert
    ctx.check_hostname = False  # the certificate names localhost; we dial an IP

    p = poplib.POP3(host, int(port), timeout=30)
    check(p.getwelcome().startswith(b"+OK"), "greeting")
    caps = p.capa()
    for c in ("STLS", "USER", "UIDL", "TOP", "PIPELINING", "RESP-CODES", "AUTH-RESP-CODE", "SASL", "IMPLEMENTATION"):
        check(c in caps, "CAPA lists %s: %r" % (c, caps))
    p.stls(context=ctx)
    check("STLS" not in p.capa(), "no STLS after STLS")
    try:
        p.user(user)
        p.pass_("wrong password")
        check(False, "a wrong password was accepted")
    except poplib.error_proto as e:
        check(b"[AUTH]" in e.args[0], "wrong password answered with [AUTH]: %r" % e.args[0])
    p.user(user)
    p.pass_(password)
    count, size = p.stat()
    check(count == 2 and size == octets(MSG1) + octets(MSG2), "STAT %r" % ((count, size),))
    resp, listing, _ = p.list()
    check(listing == [b"1 %d" % octets(MSG1), b"2 %d" % octets(MSG2)], "LIST %r" % listing)
    resp, uidls, _ = p.uidl()
    check(len(uidls) == 2 and all(len(u.split()[1]) == 16 for u in uidls), "UIDL %r" % uidls)
    resp, lines, n = p.retr(1)
    check(resp == b"+OK %d octets" % octets(MSG1), "RETR status %r" % resp)
    check(lines == MSG1, "RETR 1 lines %r" % lines)
    resp, lines, n = p.top(2, 1)
    check(lines == MSG2[:4], "TOP 2 1 %r" % lines)
    resp, lines, n = p.retr(2)
    check(lines == MSG2, "RETR 2 lines %r" % lines)
    p.dele(1)
    try:
        p.retr(1)
        check(False, "RETR of a deleted message succeeded")
    except poplib.error_proto:
        pass
    p.quit()

    # The next session sees one message with the same UIDL as before.
    s = poplib.POP3_SSL(host, int(tlsport), context=ctx, timeout=30)
    s.user(user)
    s.pass_(password)
    check(s.stat()[0] == 1, "one message left")
    resp, uidls2, _ = s.uidl()
    check(uidls2 == [b"1 " + uidls[1].split()[1]], "UIDL stable: %r vs %r" % (uidls2, uidls))
    s.quit()
    print("poplib session ok")


if __name__ == "__main__":
    main()
