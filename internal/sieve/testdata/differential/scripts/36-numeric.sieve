require ["comparator-i;ascii-numeric", "fileinto"];
if header :is :comparator "i;ascii-numeric" "x-priority" "003" { fileinto "Three"; }
if header :is :comparator "i;ascii-numeric" "x-nope" "" { fileinto "Nope"; }
