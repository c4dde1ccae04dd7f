require ["editheader","fileinto"];
if size :under 443 { fileinto "under"; }
addheader "X-Tag" "coyote";
if size :under 459 { fileinto "under-after"; }
if size :under 443 { fileinto "under-after-orig"; }
