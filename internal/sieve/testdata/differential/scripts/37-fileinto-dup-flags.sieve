require ["fileinto", "imap4flags"];
fileinto :flags "A" "Box";
fileinto :flags "B" "Box";
