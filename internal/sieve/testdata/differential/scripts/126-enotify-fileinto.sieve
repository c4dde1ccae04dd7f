# RFC 5435 §7: notify does not cancel the implicit keep; RFC 5435 example 1
require ["enotify", "fileinto", "variables"];
if header :contains "from" "example.org" {
  notify :importance "1" :message "This is probably very important" "mailto:alm@example.com";
  stop;
}
if header :matches "Subject" "*" { set "subject" "${1}"; }
if header :matches "From" "*" { set "from" "${1}"; }
notify :importance "3" :message "[SIEVE] ${from}: ${subject}" "mailto:alm@example.com";
fileinto "INBOX.sieve";
