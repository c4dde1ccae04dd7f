if anyof (header :contains "subject" "viagra", exists "auto-submitted") { discard; stop; }
