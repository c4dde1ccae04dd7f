require ["envelope", "subaddress", "relational", "comparator-i;ascii-numeric", "fileinto"];
if envelope :detail :count "lt" :comparator "i;ascii-numeric" "from" "1" { fileinto "NoFromCount"; }
if envelope :detail :count "eq" :comparator "i;ascii-numeric" ["from", "to"] "2" { fileinto "TwoEnvelope"; }
