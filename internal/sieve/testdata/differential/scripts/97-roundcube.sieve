require ["fileinto","imap4flags","vacation","date","relational","copy","reject","envelope","body","comparator-i;ascii-numeric"];
# rule:[Lists]
if anyof (header :contains "list-id" "dev", header :contains "subject" "[dev]")
{
	fileinto "Lists/dev";
	stop;
}
# rule:[Flag boss]
if address :is "from" "boss@acme.example.com"
{
	addflag "\\Flagged";
}
# rule:[Spam]
if header :value "ge" :comparator "i;ascii-numeric" "x-spam-score" "5"
{
	fileinto :copy "Junk";
	setflag "\\Seen";
}
# rule:[Vacation]
if allof (currentdate :value "ge" "date" "2026-01-01", currentdate :value "le" "date" "2099-12-31")
{
	vacation :days 1 :subject "Away" :from "me@example.com" "I am away";
}
