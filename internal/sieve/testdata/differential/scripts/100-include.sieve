require ["fileinto", "include", "variables"];
global "box";
include :global "spam";
include "stopper";
include "sub";
include :once "sub";
include :optional "missing";
fileinto "after-${box}";
