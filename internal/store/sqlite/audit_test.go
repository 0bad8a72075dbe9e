package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

func TestAudit(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Harness {
		path := filepath.Join(t.TempDir(), "kartehub.db")
		st := openAt(t, path)
		return audittest.Harness{
			Log:  st,
			Exec: func(_ context.Context, query string, args ...any) error { return execRaw(path, query, args...) },
			Unguard: []string{`DROP TRIGGER audit_block_no_update`, `DROP TRIGGER audit_block_no_delete`,
				`DROP TRIGGER audit_block_index_no_update`, `DROP TRIGGER audit_block_index_no_delete`,
				`DROP TRIGGER audit_epoch_no_update`, `DROP TRIGGER audit_epoch_no_delete`},
			Legacy: func(t *testing.T, recs []karte.AuditRecord) karte.AuditLog {
				path := filepath.Join(t.TempDir(), "kartehub.db")
				legacy(t, path, recs)
				return openAt(t, path)
			},
		}
	})
}

// TestAuditTwoProcesses: two stores on one file, as a server and a
// command run beside it, append to one chain without breaking it, though
// each remembers the last record it appended.
func TestAuditTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kartehub.db")
	audittest.TwoWriters(t, openAt(t, path), openAt(t, path))
}

func openAt(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// legacy makes a database of schema version 5, as kartehub left it before
// it kept the audit trail in blocks, with recs in audit_log.
func legacy(t *testing.T, path string, recs []karte.AuditRecord) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(execRaw(path, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`))
	files, err := filepath.Glob("migrations/000[1-5]_*.sql")
	must(err)
	if len(files) != 5 {
		t.Fatalf("migrations 1 to 5: %v", files)
	}
	for i, f := range files {
		src, err := os.ReadFile(f)
		must(err)
		db, err := sqlite3.Open(path)
		must(err)
		must(db.Exec(string(src)))
		db.Close()
		must(execRaw(path, `INSERT INTO schema_migrations VALUES ($1, 0)`, int64(i+1)))
	}
	for _, r := range recs {
		must(execRaw(path, `INSERT INTO audit_log (seq, time, event, prev, hash, checkpoint) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.Seq, r.Time.UnixNano(), r.Event, r.Prev, r.Hash, r.Checkpoint))
	}
}

// execRaw runs one statement on its own connection to the database file,
// beside the open Store, as another process would.
func execRaw(path, query string, args ...any) error {
	db, err := sqlite3.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Exec(`PRAGMA busy_timeout=10000`); err != nil {
		return err
	}
	st, _, err := db.Prepare(query)
	if err != nil {
		return err
	}
	defer st.Close()
	for i, a := range args {
		switch v := a.(type) {
		case int64:
			err = st.BindInt64(i+1, v)
		case string:
			err = st.BindText(i+1, v)
		case []byte:
			if v == nil {
				err = st.BindNull(i + 1)
			} else {
				err = st.BindBlob(i+1, v)
			}
		case nil:
			err = st.BindNull(i + 1)
		default:
			err = fmt.Errorf("cannot bind %T", a)
		}
		if err != nil {
			return err
		}
	}
	return st.Exec()
}
