require ["body", "fileinto"];
if body :content "text" :contains "cheap" { fileinto "CheapText"; }
if body :content "application/pdf" :contains "PDF" { fileinto "PdfDecoded"; }
