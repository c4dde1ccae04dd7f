require ["mime", "foreverypart", "fileinto", "variables"];
foreverypart {
  if header :mime :subtype "content-type" "pdf" { fileinto "Pdf"; break; }
}
if header :mime :anychild :type "content-type" "image" { fileinto "Image"; }
if header :mime :param "filename" "content-disposition" "invoice.pdf" { fileinto "Invoice"; }
