require ["body", "fileinto"];
if body :text :contains "überweisen" { fileinto "Rechnung"; }
if body :content "text/html" :contains "deals" { fileinto "Html"; }
if body :raw :contains "JVBERi0" { fileinto "Pdf"; }
if body :contains "anvil" { fileinto "Anvil"; }
