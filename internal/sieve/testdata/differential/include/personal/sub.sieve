require ["fileinto", "variables", "include"];
global "box";
set "box" "Inc";
if header :contains "subject" "present" { fileinto "FromInc"; return; }
fileinto "NotReached";
