package store

import (
	"sync"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// stmtJournalSpill is how large a statement journal grows in memory before
// SQLite moves it to a temporary file. Each caller of a grouped commit
// runs inside a savepoint (group.go), whose pages go to that journal;
// SQLite's default of 64 KiB sent most of them to a file, one write call
// a page, which cost as much as the commits the grouping saved. A caller
// touches tens of pages; 8 MiB keeps them, and bounds the memory a single
// statement over many rows can take before it spills.
const stmtJournalSpill = 8 << 20

var configureOnce sync.Once

// configureSQLite sets the process-wide SQLite options the store relies
// on. SQLite accepts them only before its first connection in the
// process; later (another package opened one first) they are left as
// they are, which costs speed, not correctness.
func configureSQLite() {
	configureOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		va := libc.NewVaList(int32(stmtJournalSpill))
		if va == 0 {
			return
		}
		defer libc.Xfree(tls, va)
		sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_STMTJRNL_SPILL, va)
	})
}
