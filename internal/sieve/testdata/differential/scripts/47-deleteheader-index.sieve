require ["editheader", "fileinto", "relational", "comparator-i;ascii-numeric"];
addheader :last "X-A" "1";
addheader :last "X-A" "2";
addheader "X-A" "0";
deleteheader :index 2 "X-A";
if header :count "eq" :comparator "i;ascii-numeric" "x-a" "2" { fileinto "Two"; }
if header :is "x-a" "1" { fileinto "Has1"; }
deleteheader :matches "X-A" "*";
if not exists "x-a" { fileinto "None"; }
