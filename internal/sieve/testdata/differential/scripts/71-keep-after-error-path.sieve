require ["fileinto", "imap4flags"];
addflag "\\Seen";
fileinto "A";
removeflag "\\Seen";
fileinto "B";
