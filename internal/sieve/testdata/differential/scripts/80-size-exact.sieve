require "fileinto";
if size :over 10000000 { discard; }
if not size :under 100 { fileinto "AtLeast100"; }
