require ["fileinto"];
if header :is "subject" "" { fileinto "Empty"; }
if not exists "date" { fileinto "NoDate"; }
if header :matches "subject" "?*" { keep; }
