require ["regex", "fileinto", "variables"];
if header :regex "subject" "^(I|Fwd): ?(.*)$" { fileinto "re-${2}"; }
if address :regex :domain "from" "^[a-z]+\\.example\\.(org|com)$" { fileinto "dom-${1}"; }
if header :regex :comparator "i;octet" "subject" "PRESENT" { fileinto "octet"; }
if header :regex "subject" "[[:digit:]]+" { fileinto "digits-${0}"; }
