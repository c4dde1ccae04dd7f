require "fileinto";
if header "subject" :contains "present" { fileinto "Late"; }
