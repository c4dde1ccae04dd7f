require ["encoded-character", "vacation"];
vacation :subject "${unicode:48}i" text:
Hello ${hex:57 6f 72 6c 64}
.
;
