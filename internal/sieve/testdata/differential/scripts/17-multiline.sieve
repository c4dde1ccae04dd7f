require ["reject"];
if header :contains "subject" "digest" {
  reject text:
Please do not send
..digests here.
.
;
}
