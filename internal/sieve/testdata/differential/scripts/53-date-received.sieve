require ["date", "fileinto", "variables"];
if date :zone "-0500" "date" "date" "*" { fileinto "never"; }
if date :matches :zone "-0500" "date" "iso8601" "*" { fileinto "iso-${0}"; }
if date :matches :zone "+0100" "date" "std11" "*" { fileinto "std-${0}"; }
if date :matches "date" "julian" "*" { fileinto "mjd-${0}"; }
if date :matches "date" "zone" "*" { fileinto "z-${0}"; }
