package sqlite

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"

	sqlite "modernc.org/sqlite"
)

// OpenInlineMany hands each row's bytes to its caller without a Go copy
// of its own. Read as a column, a BLOB costs two allocations of its
// size: modernc.org/sqlite copies it into a new slice, database/sql
// clones that for Scan. For POP3 RETR, whose read-ahead is most of what
// it allocates, that garbage kept the collector busy: a fifth of the
// server's CPU in `barid bench pop3`. So the query passes the column to
// a function of ours instead, barid_inline_sink(slot, id, data),
// registered with VolatileArgs: SQLite's own buffer reaches the caller's
// fn, which copies what it keeps, and the row itself is a NULL.
//
// slot says which call the row belongs to: the function is one for the
// whole driver, and the calls running at once (at most one per reader
// connection) each take the lowest free slot of inlineSinks.

const inlineSinkFunc = "barid_inline_sink"

type inlineSink struct {
	fn  func(id string, data []byte) error
	err error // fn's error: stops the query and is returned as is
}

var inlineSinks struct {
	mu    sync.Mutex
	slots []*inlineSink
}

// errSinkStopped is what the function returns to SQLite when fn failed;
// the caller returns fn's own error instead.
var errSinkStopped = errors.New("sqlite: inline sink stopped")

// takeSinkSlot registers s and returns its slot.
func takeSinkSlot(s *inlineSink) int64 {
	inlineSinks.mu.Lock()
	defer inlineSinks.mu.Unlock()
	for i, o := range inlineSinks.slots {
		if o == nil {
			inlineSinks.slots[i] = s
			return int64(i)
		}
	}
	inlineSinks.slots = append(inlineSinks.slots, s)
	return int64(len(inlineSinks.slots) - 1)
}

func releaseSinkSlot(slot int64) {
	inlineSinks.mu.Lock()
	inlineSinks.slots[slot] = nil
	inlineSinks.mu.Unlock()
}

func sinkAt(slot int64) *inlineSink {
	inlineSinks.mu.Lock()
	defer inlineSinks.mu.Unlock()
	if slot < 0 || slot >= int64(len(inlineSinks.slots)) {
		return nil
	}
	return inlineSinks.slots[slot]
}

// registerInlineSink adds barid_inline_sink to the store's driver.
func registerInlineSink(d *sqlite.Driver) {
	d.MustRegisterFunction(inlineSinkFunc, &sqlite.FunctionImpl{
		NArgs:        3,
		VolatileArgs: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			slot, _ := args[0].(int64)
			s := sinkAt(slot)
			if s == nil {
				return nil, fmt.Errorf("%s: no call in slot %d", inlineSinkFunc, slot)
			}
			if s.err != nil {
				return nil, errSinkStopped
			}
			id, _ := args[1].(string)
			var data []byte
			switch v := args[2].(type) {
			case []byte:
				data = v
			case string: // a row written as TEXT: the same bytes
				data = []byte(v)
			case nil:
			default:
				return nil, fmt.Errorf("%s: data of %.8s is %T, not bytes", inlineSinkFunc, id, v)
			}
			if data == nil {
				data = []byte{} // an empty message is still a message
			}
			if err := s.fn(id, data); err != nil {
				s.err = err
				return nil, errSinkStopped
			}
			return nil, nil
		},
	})
}
