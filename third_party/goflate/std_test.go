package flate

import (
	stdflate "compress/flate"
	"io"
)

func newStdWriter(w io.Writer) (*stdflate.Writer, error) { return stdflate.NewWriter(w, stdflate.DefaultCompression) }
