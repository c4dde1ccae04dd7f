require ["mime", "foreverypart", "extracttext", "variables", "fileinto"];
foreverypart {
  if header :mime :type "content-type" "text" {
    extracttext :first 6 "t";
    fileinto "t-${t}";
    break;
  }
}
