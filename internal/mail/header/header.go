package header

import "bytes"

// Field is one header field: Name as sent (without trailing white space),
// Value unfolded (line ends removed, the white space after them kept), Raw
// the field's exact bytes including its line end.
type Field struct {
	Name  string
	Value string
	Raw   []byte
}

// Parse splits a header block into fields (RFC 5322 §2.2). It stops at the
// first empty line. Lines without a colon become fields with an empty
// value whose Name is the whole line, as Dovecot treats them. Continuation
// lines (starting with white space) are joined to the previous field.
func Parse(hdr []byte) []Field {
	var out []Field
	ForEach(hdr, func(f Field) bool {
		out = append(out, f)
		return true
	})
	return out
}

// ForEach calls fn for each field of hdr until fn returns false. The
// Field's Raw aliases hdr.
func ForEach(hdr []byte, fn func(Field) bool) {
	eachRaw(hdr, func(raw []byte) bool { return fn(makeField(raw)) })
}

// eachRaw calls fn with the exact bytes of each field of hdr, line end
// included, until fn returns false or the header ends.
func eachRaw(hdr []byte, fn func(raw []byte) bool) {
	i := 0
	for i < len(hdr) {
		// a blank line ends the header (CR CR LF counts: stored with
		// LF line ends it is a CRLF, as Dovecot sees it)
		if isBlankLine(hdr[i:]) {
			return
		}
		start := i
		// field runs until a line end not followed by WSP
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
		if !fn(hdr[start:i]) {
			return
		}
	}
}

func isBlankLine(b []byte) bool {
	switch {
	case len(b) >= 1 && b[0] == '\n':
		return true
	case len(b) >= 2 && b[0] == '\r' && b[1] == '\n':
		return true
	case len(b) >= 3 && b[0] == '\r' && b[1] == '\r' && b[2] == '\n':
		return true
	}
	return false
}

func makeField(raw []byte) Field {
	name, value, ok := splitField(raw)
	if !ok {
		return Field{Name: string(name), Raw: raw}
	}
	return Field{Name: string(name), Value: Unfold(value), Raw: raw}
}

// splitField splits a field's raw bytes into its name and its (folded)
// value; ok is false for a line without a colon, which is a field with
// no value whose name is the whole first line, as Dovecot treats it.
func splitField(raw []byte) (name, value []byte, ok bool) {
	c := bytes.IndexByte(raw, ':')
	nl := bytes.IndexByte(raw, '\n')
	if c < 0 || (nl >= 0 && c > nl) {
		name = raw
		if nl >= 0 {
			name = raw[:nl]
		}
		return bytes.TrimRight(name, "\r"), nil, false
	}
	return bytes.TrimRight(raw[:c], " \t"), raw[c+1:], true
}

// Unfold removes CR and LF from a field value (RFC 5322 §2.2.3) and
// trims the white space at both ends.
func Unfold(v []byte) string {
	if !bytes.ContainsAny(v, "\r\n") {
		return string(bytes.Trim(v, " \t"))
	}
	b := make([]byte, 0, len(v))
	for _, c := range v {
		if c != '\r' && c != '\n' {
			b = append(b, c)
		}
	}
	return string(bytes.Trim(b, " \t"))
}

// Get returns the unfolded value of the first field named name
// (case-insensitive).
func Get(hdr []byte, name string) (string, bool) {
	var v string
	var ok bool
	ForEach(hdr, func(f Field) bool {
		if equalFold(f.Name, name) {
			v, ok = f.Value, true
			return false
		}
		return true
	})
	return v, ok
}

// equalFold compares a field name (as bytes or a string) with name,
// ASCII letters without regard to case.
func equalFold[S ~string | ~[]byte](a S, b string) bool {
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
