require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "7" { fileinto "Junk"; stop; }
if header :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { fileinto "Many"; }
if address :count "eq" :comparator "i;ascii-numeric" "to" "2" { fileinto "Two"; }
