require "fileinto";
if anyof (header :is "X-Missing" "", not exists "X-Missing") { fileinto "Missing"; }
if header :matches "subject" "" { fileinto "EmptyMatch"; }
if header :matches "subject" "*" { fileinto "StarMatch"; }
