require ["fileinto", "variables"];
if address :matches "from" "*@*.*" { fileinto "dom-${2}"; }
if header :matches "subject" "*of*" { fileinto "of-${1}"; }
