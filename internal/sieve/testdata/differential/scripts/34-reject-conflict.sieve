require ["reject", "fileinto"];
if header :contains "subject" "digest" { fileinto "X"; reject "no"; }
