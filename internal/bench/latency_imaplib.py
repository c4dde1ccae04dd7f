# Driven by "barid bench latency" (internal/bench/latency.go): Python's
# imaplib exactly as shipped (Nagle on; a literal and its CRLF are two
# writes) times LOGIN, APPEND of a small message and UID FETCH n
# BODY.PEEK[] against one server, and prints the times in seconds as JSON.
#
#   python3 latency_imaplib.py HOST PORT USER PASSWORD MAILBOX ROUNDS LOGINS SIZE
import imaplib
import json
import re
import sys
import time

host, port, user, password, mailbox = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rounds, logins, size = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])

head = b"From: bench@example.org\r\nTo: user@example.org\r\nSubject: latency\r\n\r\n"
body = (b"x" * 70 + b"\r\n") * max(1, (size - len(head)) // 72)
msg = head + body

out = {"LOGIN": [], "APPEND": [], "UID FETCH BODY.PEEK[]": []}

for _ in range(logins):
    M = imaplib.IMAP4(host, port)
    t = time.perf_counter()
    M.login(user, password)
    out["LOGIN"].append(time.perf_counter() - t)
    M.logout()

M = imaplib.IMAP4(host, port)
M.login(user, password)
M.create(mailbox)  # NO when it exists: fine
uid = None
for _ in range(rounds):
    t = time.perf_counter()
    typ, data = M.append(mailbox, None, None, msg)
    out["APPEND"].append(time.perf_counter() - t)
    if typ != "OK":
        sys.exit("APPEND: %s %r" % (typ, data))
    m = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
    if m:
        uid = m.group(1).decode()
typ, data = M.select(mailbox, readonly=True)
if typ != "OK":
    sys.exit("SELECT: %s %r" % (typ, data))
if uid is None:
    typ, data = M.uid("SEARCH", "ALL")
    uid = data[0].split()[-1].decode()
for _ in range(rounds):
    t = time.perf_counter()
    typ, data = M.uid("FETCH", uid, "(BODY.PEEK[])")
    out["UID FETCH BODY.PEEK[]"].append(time.perf_counter() - t)
    if typ != "OK" or not data or not isinstance(data[0], tuple):
        sys.exit("UID FETCH: %s %r" % (typ, data))
M.logout()
json.dump(out, sys.stdout)
