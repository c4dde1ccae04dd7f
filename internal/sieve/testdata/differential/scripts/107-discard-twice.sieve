discard;
if true { discard; }
