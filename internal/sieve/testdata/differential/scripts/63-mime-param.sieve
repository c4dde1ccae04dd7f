require ["mime", "fileinto", "foreverypart", "variables"];
foreverypart {
  if header :mime :param "charset" "content-type" "iso-8859-1" { fileinto "Latin1"; }
  if header :mime :contenttype "content-type" "text/plain" { fileinto "Plain"; }
}
if exists :mime :anychild "content-disposition" { fileinto "HasDisp"; }
