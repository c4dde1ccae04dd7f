// Package metrics holds barid's Prometheus collectors on one explicit
// registry (never prometheus.DefaultRegisterer: STYLE.md §8, no global
// state), and the small handles the protocol packages use to feed them.
//
// Protocol packages hold a *Protocol (nil when metrics are off) and,
// per connection, a ConnState value. Every method is safe on a nil
// receiver and then does nothing, so a protocol package never checks
// whether metrics are on. The series of every command in a protocol's
// command table are created when the Protocol is, so the per-command
// cost is one counter increment and one histogram Observe on collectors
// already resolved (no label lookup on the hot path), and every series
// is exported from the first scrape on (rate() works at once).
//
// Label values are bounded: command names come from the command tables
// (anything else is "unknown"), mechanisms from the SASL list (anything
// else is "other"), results and states from fixed lists.
//
// The names are listed in docs/operations.md ("Monitoring"), with
// example alert rules.
package metrics
