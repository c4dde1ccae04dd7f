package header

import "strings"

// MaxThreadRefs is the most msg-ids of In-Reply-To and References that
// ThreadFields returns. Real threads carry a handful (RFC 5322 §3.6.4
// lets a writer trim References to the most recent ones); a header of a
// megabyte could name tens of thousands, and each one becomes a row of
// the user's thread index at delivery. The nearest ancestors are the
// ones kept (In-Reply-To, then References from its end), plus the
// thread's root (the first References entry).
const MaxThreadRefs = 64

// ThreadFields returns what a message's RFC 8474 THREADID is computed
// from (RFC 5322 §3.6.4): its own Message-ID ("" if it has no valid
// one) and the msg-ids it refers to, nearest ancestor first: the
// In-Reply-To ids, then the References ids from last to first, then the
// first References id (the root) if MaxThreadRefs cut it off. Ids are
// compared byte for byte, as RFC 5256 threading does; duplicates and
// the message's own id are dropped. Only the first occurrence of each
// field counts, as for THREAD=REFERENCES.
func ThreadFields(hdr []byte) (id string, refs []string) {
	var irt, references string
	var haveID, haveIRT, haveRefs bool
	ForEach(hdr, func(f Field) bool {
		switch {
		case !haveID && strings.EqualFold(f.Name, "Message-ID"):
			id, haveID = FirstMessageID(f.Value), true
		case !haveIRT && strings.EqualFold(f.Name, "In-Reply-To"):
			irt, haveIRT = f.Value, true
		case !haveRefs && strings.EqualFold(f.Name, "References"):
			references, haveRefs = f.Value, true
		}
		return !(haveID && haveIRT && haveRefs)
	})
	seen := map[string]bool{}
	if id != "" {
		seen[id] = true
	}
	add := func(r string) bool {
		if len(refs) >= MaxThreadRefs {
			return false
		}
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
		return true
	}
	for _, r := range MessageIDs(irt) {
		if !add(r) {
			break
		}
	}
	rs := MessageIDs(references)
	for i := len(rs) - 1; i >= 0; i-- {
		if len(refs) == MaxThreadRefs-1 && i > 0 {
			// Keep the last place for the root.
			add(rs[0])
			break
		}
		if !add(rs[i]) {
			break
		}
	}
	return id, refs
}
