//go:build race

package server

// raceEnabled: the race detector makes sync.Pool drop a random quarter
// of what is put back, so tests of pooled buffers cannot count bytes.
const raceEnabled = true
