require ["fileinto", "variables"];
if header :matches "subject" "*[*]*" { fileinto "tag-${2}"; }
if header :contains "subject" "*stars*?" { fileinto "literal-stars"; }
if header :matches "subject" "*\\*stars\\*\\?" { fileinto "escaped-stars"; }
if header :is "x-priority" "1 (Highest)" { fileinto "prio-trimmed"; }
