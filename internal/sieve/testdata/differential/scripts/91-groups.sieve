require ["fileinto", "relational", "comparator-i;ascii-numeric", "variables", "subaddress"];
if address :count "eq" :comparator "i;ascii-numeric" "to" "0" { fileinto "NoTo"; }
if address :count "eq" :comparator "i;ascii-numeric" "cc" "3" { fileinto "ThreeCc"; }
if address :detail :is "cc" "dev" { fileinto "DevCc"; }
if address :all :is "from" "john.smith@example.com" { fileinto "John"; }
if address :domain :is :comparator "i;octet" "from" "Example.COM" { fileinto "OctetDomain"; }
if header :contains "from" "the boss" { fileinto "Comment"; }
