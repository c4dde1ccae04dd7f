require ["date", "relational", "fileinto", "variables"];
if date :value "lt" "date" "date" "2000-01-01" { fileinto "Old"; }
if date :is :zone "+0000" "date" "weekday" "6" { fileinto "Saturday-utc"; }
if date :originalzone :is "date" "hour" "23" { fileinto "late"; }
if date :matches "date" "year" "*" { fileinto "y${1}"; }
