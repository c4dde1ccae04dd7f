require ["fileinto", # comment
  "imap4flags" /* another */ ];
fileinto /* c */ :flags [ "a" , # x
 "b" ] "Boxed";
