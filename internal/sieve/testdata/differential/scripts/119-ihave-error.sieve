# RFC 5463 §5: error fails the script: only the implicit keep
require ["ihave", "fileinto"];
fileinto "Before";
if header :contains "subject" "invoice" { error "no invoices here"; }
fileinto "After";
