require ["fileinto","copy"];
fileinto "B";
fileinto :copy "B";
