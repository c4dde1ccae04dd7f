require ["date", "fileinto"];
if date :matches "subject" "year" "*" { fileinto "never"; }
if not date :matches "x-none" "year" "*" { fileinto "nodate"; }
