require ["fileinto"];
if size :under 400 { fileinto "Small"; }
if size :over 1K { fileinto "Big"; }
