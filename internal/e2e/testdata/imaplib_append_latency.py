# imaplib_append_latency.py HOST PORT USER PASSWORD COUNT
#
# Python's imaplib as shipped (no TCP_NODELAY; an APPEND literal and its
# closing CRLF go out in two writes) appends COUNT small messages one at
# a time and prints each APPEND's wall time in seconds, one per line.
# Used by TestImaplibAppendNotStalledByDelayedACK.
import imaplib
import sys
import time

host, port, user, password, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
msg = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: small\r\n\r\nhello\r\n"
M = imaplib.IMAP4(host, port)
M.login(user, password)
for i in range(count):
    t = time.perf_counter()
    typ, data = M.append("INBOX", None, None, msg)
    elapsed = time.perf_counter() - t
    if typ != "OK":
        sys.exit("APPEND %d: %s %r" % (i, typ, data))
    print("%.6f" % elapsed)
M.logout()
