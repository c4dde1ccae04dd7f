package header

// Values returns the unfolded values of every field of hdr named name
// (case-insensitive), in order: what Parse and a filter by name give,
// without making a Field for the others (a Sieve run asks for a few
// names of a header of many fields).
func Values(hdr []byte, name string) []string {
	var out []string
	eachRaw(hdr, func(raw []byte) bool {
		n, v, ok := splitField(raw)
		if equalFold(n, name) {
			if ok {
				out = append(out, Unfold(v))
			} else {
				out = append(out, "")
			}
		}
		return true
	})
	return out
}
