require ["imap4flags", "fileinto", "variables"];
setflag "myflags" "A B";
addflag "myflags" "C";
if hasflag :contains "myflags" "B" { fileinto "HasB"; }
if hasflag :is "\\Seen" { fileinto "NotSeen"; }
removeflag "myflags" "A";
if string :is "${myflags}" "B C" { fileinto "FlagsVar"; }
