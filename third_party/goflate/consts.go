package flate

// Constants the decoder shares with the encoder files of compress/flate,
// which this copy leaves out.
const (
	maxMatchOffset = 1 << 15 // the largest match offset (deflate.go)
	endBlockMarker = 256     // end-of-block symbol (huffman_bit_writer.go)
)
