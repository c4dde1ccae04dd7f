require ["imap4flags"];
addflag "$FromInclude";
