# RFC 5435/5436: notify with every tag, duplicate recipients dropped
require ["enotify", "variables", "fileinto"];
if header :matches "subject" "*" { set "s" "${1}"; }
notify :importance "1" :from "me@example.com" :message "New: ${s}"
  "mailto:alice@example.net";
notify :message "again" "mailto:alice@example.net";
notify "mailto:bob@example.net%2Calice@example.net?cc=carol@example.net&subject=Mail%20for%20you&x-note=hi&from=evil@example.org&auto-submitted=no";
notify :importance "3" "mailto:?to=dave@example.net&body=Line%201";
if valid_notify_method ["mailto:x@example.net", "xmpp:x@example.net"] { fileinto "Both"; }
if valid_notify_method "mailto:x@example.net" { fileinto "Valid"; }
if notify_method_capability "mailto:x@example.net" "Online" "maybe" { fileinto "Maybe"; }
if notify_method_capability "mailto:x@example.net" "frob" "maybe" { fileinto "Frob"; }
if notify_method_capability "tel:+1555" "online" "maybe" { fileinto "Tel"; }
