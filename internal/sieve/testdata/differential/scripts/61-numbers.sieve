require "fileinto";
if size :under 1M { fileinto "UnderMeg"; }
if size :over 0 { fileinto "NonEmpty"; }
if size :under 0 { fileinto "Neg"; }
