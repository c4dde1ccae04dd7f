require "vacation";
vacation text: # comment allowed here
Line 1
.
;
