require ["include", "imap4flags", "fileinto"];
include "flags";
fileinto "WithFlags";
