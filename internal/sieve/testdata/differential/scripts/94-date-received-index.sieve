require ["date", "index", "fileinto", "variables", "relational"];
if date :index 1 :matches "received" "time" "*" { fileinto "r1-${1}"; }
if date :index 1 :last :matches "received" "time" "*" { fileinto "rlast-${1}"; }
if header :index 2 :matches "received" "from *" { fileinto "h2-${1}"; }
