redirect "a@example.net";
redirect "A@example.net";
redirect "b@example.net";
