require ["fileinto","copy","imap4flags"];
fileinto :copy :flags "$label1" "B";
fileinto "B";
