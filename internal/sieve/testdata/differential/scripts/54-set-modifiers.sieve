require ["variables", "fileinto"];
set :upper :lowerfirst "a" "hello";
set :length "l" "ünïcode";
set :quotewildcard "q" "a*b?c\\d";
fileinto "${a}-${l}-${q}";
