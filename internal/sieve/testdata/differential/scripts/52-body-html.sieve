require ["body", "fileinto"];
if body :text :contains "<b>" { fileinto "Markup"; }
if body :content "text/html" :contains "<b>" { fileinto "RawHtml"; }
if body :text :is "" { fileinto "EmptyBody"; }
