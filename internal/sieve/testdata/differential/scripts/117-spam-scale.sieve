require ["spamtestplus", "virustest", "variables", "fileinto"];
if spamtest :matches "*" { set "s" "${1}"; }
if spamtest :percent :matches "*" { set "p" "${1}"; }
if virustest :matches "*" { set "v" "${1}"; }
fileinto "s${s}-p${p}-v${v}";
