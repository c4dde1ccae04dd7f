package sqlite

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"reflect"
	"unsafe"

	"modernc.org/libc"
	sqlite "modernc.org/sqlite"
	lib "modernc.org/sqlite/lib"
)

// driverName is the private registration of modernc.org/sqlite that
// the store opens its connections with, so that its connection hook
// applies to the store's connections only.
const driverName = "barid-sqlite"

func init() {
	d := &sqlite.Driver{}
	d.RegisterConnectionHook(func(c sqlite.ExecQuerierContext, _ string) error {
		return enableQPSG(c)
	})
	registerInlineSink(d)
	sql.Register(driverName, d)
}

// enableQPSG turns on SQLite's query planner stability guarantee
// (SQLITE_DBCONFIG_ENABLE_QPSG) for a new connection.
//
// Without it the planner may read a statement's bound values while it
// plans, and then marks the statement to be compiled again whenever
// such a value is bound anew ("as if there had been a schema change",
// sqlite3_prepare_v2): an equality "mailbox = ?" that a candidate plan
// does not use for its index is enough (whereLoopOutputAdjust), and so
// are sqlite_stat4 samples. Every cached statement was then recompiled
// on most executions, since each session binds its own mailbox: 6% of
// the server's CPU in the mix benchmark, read-only or not. barid's
// queries are written for their indexes and never need value-dependent
// plans.
//
// modernc.org/sqlite has no API for sqlite3_db_config, so this reads
// the connection's handle (fields db and tls of its unexported conn
// type) by reflection; if a new version renames them, opening the store
// fails with this error rather than running without the setting
// (TestQPSGEnabled).
func enableQPSG(c any) error {
	v := reflect.ValueOf(c)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("sqlite: QPSG: unexpected connection type %T", c)
	}
	db, tls := v.Elem().FieldByName("db"), v.Elem().FieldByName("tls")
	if db.Kind() != reflect.Uintptr || tls.Kind() != reflect.Pointer || tls.Type() != reflect.TypeFor[*libc.TLS]() {
		return fmt.Errorf("sqlite: QPSG: %T has no db/tls handle fields (modernc.org/sqlite changed)", c)
	}
	t := (*libc.TLS)(unsafe.Pointer(tls.Pointer()))
	on, err := dbConfig(t, uintptr(db.Uint()), lib.SQLITE_DBCONFIG_ENABLE_QPSG, 1)
	if err != nil {
		return err
	}
	if !on {
		return fmt.Errorf("sqlite: QPSG did not turn on")
	}
	return nil
}

// dbConfig calls sqlite3_db_config(db, op, onoff, &res) for a boolean
// option (onoff -1 only reads it) and returns res.
func dbConfig(t *libc.TLS, db uintptr, op int32, onoff int32) (bool, error) {
	const slot = 8 // libc.VaList's stride per argument
	bp := libc.Xcalloc(t, 1, 2*slot+4)
	if bp == 0 {
		return false, fmt.Errorf("sqlite: db_config: out of memory")
	}
	defer libc.Xfree(t, bp)
	res := bp + 2*slot // int res, zeroed by calloc
	if rc := lib.Xsqlite3_db_config(t, db, op, libc.VaList(bp, onoff, res)); rc != lib.SQLITE_OK {
		return false, fmt.Errorf("sqlite: db_config(%d): result code %d", op, rc)
	}
	return binary.NativeEndian.Uint32(libc.GoBytes(res, 4)) != 0, nil
}
