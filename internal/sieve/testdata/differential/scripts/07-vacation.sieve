require ["vacation"];
vacation :days 3 :subject "Out of office" :addresses ["me@example.com"] "I am away until Monday.";
