require ["editheader","foreverypart","mime","fileinto","variables"];
deleteheader "content-type";
foreverypart { if header :mime :subtype "content-type" ["html", "pdf"] { fileinto "part-${1}"; break; } }
