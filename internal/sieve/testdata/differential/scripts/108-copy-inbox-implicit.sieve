require ["fileinto", "imap4flags", "copy"];
fileinto :copy :flags "\\Seen" "INBOX";
addflag "\\Flagged";
