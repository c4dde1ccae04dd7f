require ["fileinto"];
fileinto "First";
stop;
fileinto "Second";
