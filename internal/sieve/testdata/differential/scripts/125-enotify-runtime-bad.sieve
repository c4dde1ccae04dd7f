# an invalid method from a variable fails at run time: implicit keep
require ["enotify", "variables", "fileinto"];
set "m" "tel:+14085551212";
fileinto "X";
notify "${m}";
