require ["fileinto", "imap4flags"];
addflag "\\Seen";
if size :over 300 { addflag ["$Big", "\\Flagged"]; }
if header :contains "subject" "digest" { removeflag "\\Seen"; fileinto "Digests"; }
fileinto :flags "\\Answered" "Answered";
