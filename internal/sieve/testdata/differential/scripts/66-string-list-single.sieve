require ["fileinto"];
fileinto ["A"];
