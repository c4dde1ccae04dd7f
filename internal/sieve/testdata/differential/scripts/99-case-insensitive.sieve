IF header :IS :COMPARATOR "I;OCTET" "Subject" "I have a present for you" { DISCARD; }
if size :over 1k { keep; }
