require ["vacation-seconds", "fileinto"];
vacation :seconds 3600 :from "me@example.com" "Back soon";
fileinto "Answered";
