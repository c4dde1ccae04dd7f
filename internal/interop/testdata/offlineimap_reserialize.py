#!/usr/bin/env python3
"""Print the SHA-256 of each file after the round trip offlineimap3 8.0.0
applies to every message it downloads into a Maildir:

  folder/IMAP.py getmessage:  BytesParser(policy=8bit-RFC).parsebytes(data)
  folder/Maildir.py save_to_tmp_file:  msg.as_bytes(policy=8bit)

with the policies of folder/Base.py. Usage: offlineimap_reserialize.py FILE...
Output: one "sha256-hex changed|same" line per file, in argument order;
"changed" when the result differs from the input with CRLF -> LF."""
import hashlib
import sys
from email import policy
from email.parser import BytesParser

P8 = policy.default.clone(cte_type='8bit', utf8=True, refold_source='none')
P8RFC = policy.default.clone(cte_type='8bit', utf8=True, refold_source='none', linesep='\r\n')

for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        data = f.read()
    out = BytesParser(policy=P8RFC).parsebytes(data).as_bytes(policy=P8)
    same = out == data.replace(b'\r\n', b'\n')
    print(hashlib.sha256(out).hexdigest(), 'same' if same else 'changed')
