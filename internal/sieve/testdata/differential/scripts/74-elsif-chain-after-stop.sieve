require "fileinto";
if false { fileinto "a"; }
elsif false { fileinto "b"; }
elsif true { fileinto "c"; }
elsif true { fileinto "d"; }
else { fileinto "e"; }
if true { fileinto "f"; } else { fileinto "g"; }
