require ["enotify"];
notify "xmpp:tim@example.com";
