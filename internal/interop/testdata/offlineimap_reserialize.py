#!/usr/bin/env python3
"""Print the SHA-256 of each file after the round trips offlineimap3 8.0.0
applies to messages, with the policies of offlineimap/folder/Base.py:

  download  IMAP -> Maildir: folder/IMAP.py getmessage parses the fetched
            bytes with BytesParser(policy=8bit-RFC); folder/Maildir.py
            save_to_tmp_file writes msg.as_bytes(policy=8bit).
  upload    Maildir -> IMAP: folder/Maildir.py getmessage parses the file
            with BytesParser(policy=8bit); folder/IMAP.py savemessage
            APPENDs msg.as_bytes(policy=8bit-RFC) (no X-OfflineIMAP field
            when the server has UIDPLUS).
  both      upload, then download: the Maildir form of a local file.

Usage: offlineimap_reserialize.py download|upload|both FILE...
Output: one "sha256-hex same|changed" line per file, in argument order;
"changed" when the result differs from the input beyond line endings."""
import hashlib
import sys
from email import policy
from email.parser import BytesParser

P8 = policy.default.clone(cte_type='8bit', utf8=True, refold_source='none')
P8RFC = policy.default.clone(cte_type='8bit', utf8=True, refold_source='none', linesep='\r\n')


def download(data):
    return BytesParser(policy=P8RFC).parsebytes(data).as_bytes(policy=P8)


def upload(data):
    return BytesParser(policy=P8).parsebytes(data).as_bytes(policy=P8RFC)


def lf(b):
    return b.replace(b'\r\n', b'\n')


mode = sys.argv[1]
for path in sys.argv[2:]:
    with open(path, 'rb') as f:
        data = f.read()
    if mode == 'download':
        out = download(data)
    elif mode == 'upload':
        out = upload(data)
    elif mode == 'both':
        out = download(upload(data))
    else:
        sys.exit('unknown mode ' + mode)
    print(hashlib.sha256(out).hexdigest(), 'same' if lf(out) == lf(data) else 'changed')
