require ["fileinto", "variables"];
if header :matches "Subject" "[*] *" { fileinto "list.${1}"; stop; }
if header :matches "From" "*<*@*>" { fileinto "from.${3}"; }
