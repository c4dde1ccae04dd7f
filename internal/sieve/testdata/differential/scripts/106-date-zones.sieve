require ["date","variables","fileinto"];
if date :zone "+2500" :matches "date" "std11" "*" { fileinto "a-${1}"; }
if date :zone "abc" :matches "date" "std11" "*" { fileinto "b-${1}"; }
if date :zone "+0130" :matches "date" "zone" "*" { fileinto "c-${1}"; }
