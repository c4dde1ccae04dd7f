package header

import "bytes"

// Values returns the unfolded values of every field of hdr named name
// (case-insensitive), in order: what Parse and a filter by name give,
// without making a Field for the others (a Sieve run asks for a few
// names of a header of many fields).
func Values(hdr []byte, name string) []string {
	var out []string
	i := 0
	for i < len(hdr) {
		if isBlankLine(hdr[i:]) {
			break
		}
		start := i
		for {
			j := bytes.IndexByte(hdr[i:], '\n')
			if j < 0 {
				i = len(hdr)
				break
			}
			i += j + 1
			if i >= len(hdr) || (hdr[i] != ' ' && hdr[i] != '\t') {
				break
			}
		}
		line := hdr[start:i]
		// as makeField: a line without a colon is a field with no value
		c := bytes.IndexByte(line, ':')
		nl := bytes.IndexByte(line, '\n')
		if c < 0 || (nl >= 0 && c > nl) {
			n := line
			if nl >= 0 {
				n = line[:nl]
			}
			if equalFoldBytes(bytes.TrimRight(n, "\r"), name) {
				out = append(out, "")
			}
			continue
		}
		if equalFoldBytes(bytes.TrimRight(line[:c], " \t"), name) {
			out = append(out, Unfold(line[c+1:]))
		}
	}
	return out
}

func equalFoldBytes(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
