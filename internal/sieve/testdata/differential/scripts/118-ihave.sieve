# RFC 5463: ihave of known, unknown and not-ihave-able capabilities;
# unknown commands inside a guarded block are not errors
require ["ihave", "fileinto"];
if ihave "fileinto" { fileinto "A"; }
if ihave ["envelope", "x-unknown"] { frobnicate :now "x"; } else { fileinto "B"; }
if ihave "variables" { fileinto "C"; }
if not ihave "x-foo" { fileinto "D"; }
if allof(ihave "x-bar", true) { bar; } elsif ihave "relational" { fileinto "E"; }
if ihave "imap4flags" { addflag "\\Flagged"; }
if header :count "ge" "to" "1" { fileinto "F"; }
