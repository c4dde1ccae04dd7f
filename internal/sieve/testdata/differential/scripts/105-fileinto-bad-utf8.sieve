require ["fileinto", "variables", "encoded-character"];
set "mailbox" "${hex:ff}rop";
fileinto "${mailbox}";
