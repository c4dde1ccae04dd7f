# invalid literal methods and tags are compile errors (RFC 5435 §3.2)
require ["enotify"];
notify :importance "4" "mailto:a@example.net";
