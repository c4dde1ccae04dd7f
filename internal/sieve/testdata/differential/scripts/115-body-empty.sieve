require ["body","fileinto"];
if body :raw :contains "" { fileinto "raw"; }
if body :text :contains "" { fileinto "text"; }
if body :content "text" :contains "" { fileinto "content"; }
if body :raw :is "" { fileinto "raw-is-empty"; }
