require ["fileinto", "relational", "comparator-i;ascii-numeric", "subaddress", "variables"];
if address :count "eq" :localpart :comparator "i;ascii-numeric" "to" "1" { fileinto "lp1"; }
if address :count "eq" :localpart :comparator "i;ascii-numeric" "to" "0" { fileinto "lp0"; }
if address :count "eq" :detail :comparator "i;ascii-numeric" "cc" "3" { fileinto "det3"; }
if address :matches :all "to" "*" { fileinto "all-[${1}]"; }
if address :count "eq" :comparator "i;ascii-numeric" "resent-to" "0" { fileinto "ZeroMissing"; }
