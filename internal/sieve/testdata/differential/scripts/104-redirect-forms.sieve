redirect "Bob <bob@example.com>";
redirect "<carol@example.com>";
redirect " dave@example.com ";
redirect "\"quoted local\"@example.com";
