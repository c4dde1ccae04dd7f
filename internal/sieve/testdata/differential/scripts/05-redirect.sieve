require ["copy"];
if not header :contains "subject" "Undelivered" { redirect :copy "archive@example.net"; }
if header :is "x-priority" "3" { redirect "boss@example.net"; }
