require ["fileinto", "variables"];
if header :matches ["to", "cc"] "*boss*" { fileinto "m-${1}"; }
if header :contains ["x-a", "subject"] ["nope", "present"] { fileinto "list-any"; }
