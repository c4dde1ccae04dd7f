# a variable of an unknown namespace inside an unchecked ihave block is
# no error either
require ["ihave", "fileinto", "variables"];
if ihave "x-ns" { set "x" "${xns.name}"; } else { fileinto "E"; }
