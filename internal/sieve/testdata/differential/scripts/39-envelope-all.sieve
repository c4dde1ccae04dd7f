require ["envelope", "fileinto"];
if envelope :all :is "from" "sender@example.org" { fileinto "FromSender"; }
if envelope :all :is "to" "me+folder@example.com" { fileinto "ToMe"; }
