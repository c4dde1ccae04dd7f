require ["envelope", "subaddress", "fileinto", "variables"];
if envelope :detail "to" "folder" { fileinto "by-detail"; }
if envelope :user :is "to" "me" { addflag "x"; }
if envelope :matches "to" "*+*@*" { fileinto "det.${2}"; }
if envelope :domain :is "from" "example.org" { fileinto "from-org"; }
