require ["fileinto", "imap4flags"];
if allof (exists "from", anyof (header :contains "subject" "invoice", header :contains "subject" "present"), not header :is "subject" "x") {
  if true { setflag "\\Important"; if false { discard; } else { fileinto "Nested"; } }
}
