require ["editheader", "fileinto"];
addheader "X-Filtered" "yes";
if header :is "x-filtered" "yes" { fileinto "Edited"; }
deleteheader "subject";
if not exists "subject" { fileinto "NoSubject"; }
