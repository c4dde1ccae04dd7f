require ["fileinto"];
if exists "subject" { if header :is "subject" "" { fileinto "EmptySubj"; } }
if header :contains "x-spam-score" "" { fileinto "HasScore"; }
