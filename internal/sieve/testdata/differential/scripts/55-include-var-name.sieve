require ["variables", "fileinto"];
set "Box" "Mixed";
set "box" "${BOX}Case";
fileinto "${box}";
