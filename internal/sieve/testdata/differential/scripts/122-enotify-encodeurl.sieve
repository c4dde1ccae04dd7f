# RFC 5435 §6 :encodeurl; a method from a variable
require ["enotify", "variables"];
set :encodeurl "body" "Safe body&evil=evilbody é";
set "m" "mailto:tim@example.com?body=${body}";
notify "${m}";
set "empty" "mailto:";
notify "${empty}";
