require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if address :count "ge" :comparator "i;ascii-numeric" ["to","cc"] "3" { fileinto "ThreeAddrs"; }
if address :is :all "to" "" { fileinto "EmptyTo"; }
if address :contains :localpart "from" "nobody" { fileinto "Nobody"; }
