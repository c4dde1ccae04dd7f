package store

import "context"

type bulkKey struct{}

// WithBulk marks ctx as belonging to a scan over many messages (a long
// FETCH, SEARCH BODY). A store may then read through resources that suit
// scans and cost more per small read, such as memory-mapped connections
// (store/sqlite). It is a hint: results are the same either way.
func WithBulk(ctx context.Context) context.Context {
	return context.WithValue(ctx, bulkKey{}, true)
}

// IsBulk reports whether ctx was marked by WithBulk.
func IsBulk(ctx context.Context) bool {
	v, _ := ctx.Value(bulkKey{}).(bool)
	return v
}
