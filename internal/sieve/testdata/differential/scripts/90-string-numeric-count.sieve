require ["variables", "relational", "comparator-i;ascii-numeric", "fileinto"];
if string :value "gt" :comparator "i;ascii-numeric" "10" "9" { fileinto "num-gt"; }
if string :value "gt" "10" "9" { fileinto "str-gt"; }
