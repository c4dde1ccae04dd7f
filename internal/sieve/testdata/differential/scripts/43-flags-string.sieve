require ["imap4flags", "fileinto"];
addflag "\\Seen \\Flagged  \\seen";
fileinto "F";
removeflag "\\flagged";
keep;
