require ["reject"];
if header :contains "from" "deals" { reject "no spam please"; }
