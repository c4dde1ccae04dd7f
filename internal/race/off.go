//go:build !race

// Package race tells tests whether the race detector is on: it makes
// sync.Pool drop a random quarter of what is put back, and makes
// exact measurements take minutes, so such tests skip under it (and
// scripts/test runs them once without it).
package race

// Enabled reports whether the binary was built with the race detector.
const Enabled = false
