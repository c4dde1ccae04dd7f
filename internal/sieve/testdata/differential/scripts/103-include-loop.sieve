require ["include"];
include "103-include-loop";
