require ["fileinto", "subaddress", "variables"];
if address :detail :matches "cc" "*" { fileinto "d-${1}"; }
if address :user :matches "cc" "w*" { fileinto "u-${1}"; }
