require ["vacation"];
if header :contains "subject" "invoice" { vacation :handle "inv" :mime "Content-Type: text/plain\r\n\r\nNot today"; }
