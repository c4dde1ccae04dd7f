require "fileinto";
if address :is "subject" "x" { fileinto "Subj"; }
if address :domain :is ["from", "sender", "reply-to"] "desert.example.org" { fileinto "Desert"; }
