require ["fileinto", "subaddress"];
if address :localpart :is "to" "me" { fileinto "lp"; }
if address :user :is "cc" "wile" { fileinto "user"; }
if address :detail :is "cc" "e" { fileinto "detail"; }
if address :all :contains "from" "desert" { fileinto "all"; }
if address :domain :matches "to" "*.example.net" { fileinto "net"; }
