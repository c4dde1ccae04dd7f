require ["variables"];
set "to" "not an address";
redirect "${to}";
