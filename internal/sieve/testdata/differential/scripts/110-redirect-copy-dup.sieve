require ["fileinto","copy"];
redirect :copy "a@example.net";
redirect "a@example.net";
