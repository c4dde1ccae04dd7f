require "FileInto";
fileinto "x";
