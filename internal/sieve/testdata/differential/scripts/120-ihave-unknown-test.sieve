# an unknown command outside an ihave block is still an error
require ["ihave"];
if not ihave "x-foo" { bogus; }
