require ["fileinto"];
if header :matches :comparator "i;octet" "subject" "I*" { fileinto "Octet"; }
if header :matches "subject" "i HAVE*" { fileinto "Casemap"; }
if header :contains "from" "JÖRG" { fileinto "NonAsciiFold"; }
if header :contains "from" "Jörg" { fileinto "NonAscii"; }
