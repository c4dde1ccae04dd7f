require ["index", "fileinto", "date"];
if header :index 1 :contains "cc" "boss" { fileinto "Boss"; }
if address :index 2 :is "cc" "wile+e@acme.example.com" { fileinto "Wile"; }
if header :index 1 :last :contains "subject" "present" { fileinto "LastSubj"; }
