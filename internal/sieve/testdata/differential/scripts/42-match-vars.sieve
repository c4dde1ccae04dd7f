require ["variables", "fileinto"];
if header :matches "subject" "*a*" { fileinto "0=${0}|1=${1}|2=${2}|01=${01}|9=${9}"; }
