require ["fileinto"];
if header :is :comparator "i;octet" "subject" "I have a present for you" { fileinto "Exact"; }
if header :is :comparator "i;octet" "subject" "i have a present for you" { fileinto "Wrong"; }
if header :contains :comparator "i;ascii-casemap" "from" "COYOTE" { fileinto "Coyote"; }
