require ["imap4flags"];
setflag "\\Seen";
keep;
keep :flags "\\Deleted";
