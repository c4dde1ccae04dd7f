require ["mime", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
if header :mime :param "charset" "content-type" "" { fileinto "empty-is"; }
if header :mime :param "charset" :matches "content-type" "*" { fileinto "m-[${1}]"; }
if header :mime :param "nope" :count "eq" :comparator "i;ascii-numeric" "content-type" "0" { fileinto "count0"; }
if header :mime :param "boundary" "content-type" "XX" { fileinto "boundary"; }
if header :mime :type "x-none" "" { fileinto "missing-hdr"; }
if header :mime :type "content-type" "" { fileinto "type-empty"; }
