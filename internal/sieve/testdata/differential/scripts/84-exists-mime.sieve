require ["fileinto", "mime"];
if exists :mime "content-type" { fileinto "HasCT"; }
if header :mime :type "content-type" "text" { fileinto "TopText"; }
