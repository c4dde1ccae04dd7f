require "fileinto";
if header :matches "subject" "*\\*" { fileinto "star-end"; }
if header :matches "subject" "I\\ have*" { fileinto "escaped-space"; }
fileinto "q\"uote";
