require ["date", "relational", "fileinto"];
if currentdate :value "gt" "year" "2000" { fileinto "Future"; }
