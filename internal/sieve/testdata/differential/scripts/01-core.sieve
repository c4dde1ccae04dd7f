require ["fileinto"];
if header :contains "subject" "present" { fileinto "Presents"; }
elsif address :domain :is "from" "lists.example.net" { fileinto "Lists"; stop; }
else { keep; }
