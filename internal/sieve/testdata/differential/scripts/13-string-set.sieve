require ["variables", "fileinto"];
set "a" "Hello";
set :lower "b" "${a} WORLD";
set :upperfirst "c" "${b}";
set :length "len" "${c}";
if string :is "${c}" "Hello world" { fileinto "set-ok-${len}"; }
if header :matches "subject" "*" { set :quotewildcard "s" "${1}"; }
if string :matches "${s}" "*\\?*" { fileinto "has-question"; }
