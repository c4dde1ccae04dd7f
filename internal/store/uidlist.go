package store

// IntersectUIDs returns the UIDs present in both ascending lists, in
// ascending order. The search paths of the server and of the SQLite
// index both narrow candidates with it.
func IntersectUIDs(a, b []UID) []UID {
	var out []UID
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}
