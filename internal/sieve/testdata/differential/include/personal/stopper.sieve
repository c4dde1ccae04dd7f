require ["fileinto"];
if header :contains "from" "lists" { fileinto "ListsByInclude"; stop; }
