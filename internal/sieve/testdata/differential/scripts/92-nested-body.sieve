require ["body", "fileinto", "mime", "foreverypart", "variables"];
if body :text :contains "INNERWORD" { fileinto "InnerText"; }
if body :content "message/rfc822" :contains "original@example.org" { fileinto "InnerHeader"; }
if header :mime :anychild :contenttype "content-type" "message/rfc822" { fileinto "HasRfc822"; }
set "n" "";
foreverypart { set "n" "${n}+"; }
fileinto "parts${n}";
