package app

import (
	"bytes"
	"crypto/sha256"
	"slices"
)

// blobSet is the integrity sweep's set of referenced blob IDs, kept
// small enough for a million messages: 16 bytes of each ID's SHA-256,
// sorted, with one "seen in the blob store" bit per entry. A map of the
// ID strings themselves, and a second map of those present, held about
// 450 MiB at 1,000,000 messages (docs/benchmarks.md, "One million
// messages"); this holds 16 MiB. Two IDs with the same 128-bit prefix
// would only keep an orphan blob (never delete a referenced one) or
// hide one missing blob from the report.
type blobSet struct {
	keys  [][16]byte
	marks []uint64
}

func blobKey(id string) [16]byte {
	sum := sha256.Sum256([]byte(id))
	return [16]byte(sum[:16])
}

// add puts id in the set; call seal before any lookup.
func (b *blobSet) add(id string) { b.keys = append(b.keys, blobKey(id)) }

// seal sorts the set and drops duplicates.
func (b *blobSet) seal() {
	slices.SortFunc(b.keys, func(x, y [16]byte) int { return bytes.Compare(x[:], y[:]) })
	b.keys = slices.Clip(slices.Compact(b.keys))
	b.marks = make([]uint64, (len(b.keys)+63)/64)
}

func (b *blobSet) find(id string) (int, bool) {
	k := blobKey(id)
	return slices.BinarySearchFunc(b.keys, k, func(x, y [16]byte) int { return bytes.Compare(x[:], y[:]) })
}

// has reports whether id is in the set.
func (b *blobSet) has(id string) bool {
	_, ok := b.find(id)
	return ok
}

// mark records that id's bytes exist and reports whether id is in the
// set; an ID not in it is ignored.
func (b *blobSet) mark(id string) bool {
	i, ok := b.find(id)
	if ok {
		b.marks[i/64] |= 1 << (i % 64)
	}
	return ok
}

// marked reports whether mark was called for id (false when id is not
// in the set).
func (b *blobSet) marked(id string) bool {
	i, ok := b.find(id)
	return ok && b.marks[i/64]&(1<<(i%64)) != 0
}
