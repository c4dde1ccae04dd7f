package sqlite

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	lib "modernc.org/sqlite/lib"
)

// The writer's COMMIT scanned its whole page cache about one time in
// three (docs/benchmarks.md, #17, "Session 12"). At the end of every
// write transaction SQLite truncates the connection's page cache to the
// database's size (pager_end_transaction calls sqlite3PcacheTruncate
// with dbSize), and its default page cache, pcache1, does that only if
// it ever held a page above dbSize: it keeps the largest page number it
// has seen (iMaxKey) and, when iMaxKey minus the limit is at least its
// hash table's size, walks every slot of the hash table and every page
// in it (pcache1TruncateUnsafe). With the writer's 16 MiB cache that is
// about 4,000 slots and 4,000 pages, on every commit after which
// iMaxKey is too high.
//
// What sets iMaxKey that high is a B-tree split, not a page: when
// balance_nonroot (btree.c) gets its new sibling pages out of order, it
// swaps two of them through a temporary page number, the page of the
// pending byte (PENDING_BYTE / page size + 1: 262,145 with 4 KiB
// pages), with three sqlite3PagerRekey calls in a row. pcache1Rekey
// raises iMaxKey to 262,145 for the first of them, and nothing lowers
// it again until the next truncate: so every transaction that split a
// page that way (a third of the delivery batches) ended with a scan of
// the whole cache, whose cost grew as the cache filled with the store.
// No page ever stays at the temporary number: the third rekey moves
// the page away again.
//
// pcacheRekey wraps pcache1's xRekey: when a page moves to the
// temporary number it remembers iMaxKey from before, and when a page
// moves away from it, it puts that value back (or the new number, if
// larger). Between the two, balance_nonroot makes no other call that
// could add a page above the remembered value (the rekeys are
// consecutive statements; sqlite3PcacheMove looks pages up without
// creating them), so iMaxKey still bounds every page in the cache and
// the truncate at COMMIT stays a no-op or a walk of the few slots above
// the database's size, as SQLite intends. Every other method is
// pcache1's own, and pcache1's structure is the one of the linked
// SQLite (lib.TPCache1), so this follows the library's version.
//
// configPcache installs it with sqlite3_config(SQLITE_CONFIG_PCACHE2),
// process-wide and before SQLite initialises, like configStmtJournal.
var pcacheErr = configPcache()

// pcacheOrigRekey and pcacheOrigTruncate are pcache1's xRekey and
// xTruncate (C function pointers as the translated library represents
// them).
var pcacheOrigRekey, pcacheOrigTruncate uintptr

// pcacheSaved maps a pcache1 instance to its iMaxKey from before a
// page moved to the temporary number. Only one connection uses an
// instance, but several connections (stores) rekey at once.
var (
	pcacheMu    sync.Mutex
	pcacheSaved = map[uintptr]uint32{}
)

// pcacheTempMoves counts rekeys to the temporary page number, and
// pcacheRestores the times iMaxKey was put back. pcacheFullWalks counts
// the truncates at the end of a write transaction (a limit above page 1;
// a limit of 1 empties the cache, which walks it by design) that walked
// pcache1's whole hash table: the cost this file removes. Tests read
// them; pcacheNoRestore (tests only) turns the restore off so a test can
// show the walks it prevents.
var (
	pcacheTempMoves, pcacheRestores, pcacheFullWalks atomic.Int64
	pcacheNoRestore                                  atomic.Bool
)

// pendingBytePage is the temporary page number balance_nonroot uses for
// a page of szPage bytes: PENDING_BYTE (0x40000000, SQLite's default;
// nothing here changes it) / szPage + 1.
func pendingBytePage(szPage int32) uint32 {
	return uint32(0x40000000/szPage) + 1
}

func pcacheRekey(tls *libc.TLS, p, pPage uintptr, iOld, iNew uint32) {
	c := (*lib.TPCache1)(cMem(p))
	temp := pendingBytePage(c.FszPage)
	if iNew == temp {
		pcacheTempMoves.Add(1)
		pcacheMu.Lock()
		pcacheSaved[p] = c.FiMaxKey
		pcacheMu.Unlock()
	}
	(*(*func(*libc.TLS, uintptr, uintptr, uint32, uint32))(unsafe.Pointer(&struct{ uintptr }{pcacheOrigRekey})))(tls, p, pPage, iOld, iNew)
	if iOld == temp && iNew != temp {
		pcacheMu.Lock()
		saved, ok := pcacheSaved[p]
		delete(pcacheSaved, p)
		pcacheMu.Unlock()
		if ok && !pcacheNoRestore.Load() {
			// pcache1Rekey has raised iMaxKey to iNew if it was lower;
			// the remembered value covers every other page.
			c.FiMaxKey = max(saved, iNew)
			pcacheRestores.Add(1)
		}
	}
}

// pcacheTruncate is pcache1's xTruncate, counting the walks of the
// whole hash table (pcache1Truncate walks when iLimit <= iMaxKey, all of
// it when iMaxKey - iLimit >= nHash).
func pcacheTruncate(tls *libc.TLS, p uintptr, iLimit uint32) {
	c := (*lib.TPCache1)(cMem(p))
	if iLimit > 1 && iLimit <= c.FiMaxKey && c.FiMaxKey-iLimit >= c.FnHash {
		pcacheFullWalks.Add(1)
	}
	(*(*func(*libc.TLS, uintptr, uint32))(unsafe.Pointer(&struct{ uintptr }{pcacheOrigTruncate})))(tls, p, iLimit)
}

// cMem turns an address in the C heap of the translated library
// (memory the Go garbage collector neither owns nor moves) into a
// pointer to read it through.
func cMem(p uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}

// cFuncPointer is how the translated library stores a C function
// pointer: the data word of an interface holding the Go func (its
// __ccgo_fp). The func is a top-level function, so the pointer stays
// valid for the life of the process.
func cFuncPointer(f any) uintptr {
	type iface [2]uintptr
	return (*iface)(unsafe.Pointer(&f))[1]
}

func configPcache() error {
	t := libc.NewTLS()
	defer t.Close()
	const slot = 8 // libc.VaList's stride per argument
	bp := libc.Xcalloc(t, 1, slot)
	m := libc.Xcalloc(t, 1, types.Size_t(unsafe.Sizeof(lib.Tsqlite3_pcache_methods2{})))
	if bp == 0 || m == 0 {
		return fmt.Errorf("sqlite: config page cache: out of memory")
	}
	defer libc.Xfree(t, bp)
	defer libc.Xfree(t, m)
	// SQLITE_CONFIG_GETPCACHE2 copies the default methods (pcache1) out;
	// SQLITE_CONFIG_PCACHE2 copies ours in.
	if rc := lib.Xsqlite3_config(t, lib.SQLITE_CONFIG_GETPCACHE2, libc.VaList(bp, m)); rc != lib.SQLITE_OK {
		return fmt.Errorf("sqlite: sqlite3_config(SQLITE_CONFIG_GETPCACHE2): result code %d", rc)
	}
	methods := (*lib.Tsqlite3_pcache_methods2)(cMem(m))
	if methods.FxRekey == 0 || methods.FxTruncate == 0 {
		return fmt.Errorf("sqlite: the default page cache has no xRekey or xTruncate")
	}
	pcacheOrigRekey, pcacheOrigTruncate = methods.FxRekey, methods.FxTruncate
	methods.FxRekey = cFuncPointer(pcacheRekey)
	methods.FxTruncate = cFuncPointer(pcacheTruncate)
	if rc := lib.Xsqlite3_config(t, lib.SQLITE_CONFIG_PCACHE2, libc.VaList(bp, m)); rc != lib.SQLITE_OK {
		return fmt.Errorf("sqlite: sqlite3_config(SQLITE_CONFIG_PCACHE2): result code %d (SQLite was initialised before the store package)", rc)
	}
	return nil
}
