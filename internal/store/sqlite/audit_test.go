package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/audit"
	"kartehub/internal/audit/audittest"
	"kartehub/internal/karte"
	"kartehub/internal/store/sqlite"
)

func TestAudit(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Harness {
		path := filepath.Join(t.TempDir(), "kartehub.db")
		st := openAt(t, path)
		return audittest.Harness{
			Log: st,
			Exec: func(_ context.Context, query string, args ...any) error {
				return execRaw(sqlite.AuditPath(path), query, args...)
			},
			Unguard: []string{`DROP TRIGGER audit_block_no_update`, `DROP TRIGGER audit_block_no_delete`,
				`DROP TRIGGER audit_block_index_no_update`, `DROP TRIGGER audit_block_index_no_delete`,
				`DROP TRIGGER audit_epoch_no_update`, `DROP TRIGGER audit_epoch_no_delete`},
			Legacy: func(t *testing.T, recs []karte.AuditRecord) karte.AuditLog {
				path := filepath.Join(t.TempDir(), "kartehub.db")
				legacy(t, path, recs)
				return openAt(t, path)
			},
			Count: func(_ context.Context, query string) (int64, error) {
				return countRaw(sqlite.AuditPath(path), query)
			},
			Reopen: func(t *testing.T) karte.AuditLog {
				st.Close()
				return openAt(t, path)
			},
		}
	})
}

// countRaw runs a query of one integer on the database file at path.
func countRaw(path, query string) (int64, error) {
	db, err := sqlite3.Open(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	st, _, err := db.Prepare(query)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if !st.Step() {
		return 0, fmt.Errorf("%s: no row (%v)", query, st.Err())
	}
	return st.ColumnInt64(0), nil
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
	atSchema(t, path, 5)
	for _, r := range recs {
		if err := execRaw(path, `INSERT INTO audit_log (seq, time, event, prev, hash, checkpoint) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.Seq, r.Time.UnixNano(), r.Event, r.Prev, r.Hash, r.Checkpoint); err != nil {
			t.Fatal(err)
		}
	}
}

// atSchema makes a record database of schema version v, as a kartehub of
// that version left it.
func atSchema(t *testing.T, path string, v int) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(execRaw(path, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`))
	files, err := filepath.Glob("migrations/*.sql")
	must(err)
	if len(files) < v {
		t.Fatalf("migrations 1 to %d: %v", v, files)
	}
	for i, f := range files[:v] {
		src, err := os.ReadFile(f)
		must(err)
		db, err := sqlite3.Open(path)
		must(err)
		must(db.Exec(string(src)))
		db.Close()
		must(execRaw(path, `INSERT INTO schema_migrations VALUES ($1, 0)`, int64(i+1)))
	}
}

// TestTrailMoved opens a database of schema version 6, which kept the
// audit trail in the record's file, once as kartehub left it and once as
// if kartehub had stopped between copying the trail to its own file and
// dropping the old tables. Either way the trail ends up whole in its own
// file, once, searchable, and the chain goes on from it.
func TestTrailMoved(t *testing.T) {
	// A trail of 25 records in blocks and epochs, as schema 6 kept it.
	src := filepath.Join(t.TempDir(), "src.db")
	st := openAt(t, src)
	recs := audittest.BuildBlocks(t, st, 25)
	st.Close()
	for _, interrupted := range []bool{false, true} {
		t.Run(fmt.Sprint("interrupted=", interrupted), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kartehub.db")
			atSchema(t, path, 6)
			for _, table := range []string{"audit_block", "audit_epoch", "audit_block_index"} {
				copyTable(t, sqlite.AuditPath(src), path, table)
			}
			if interrupted {
				trail, err := os.ReadFile(sqlite.AuditPath(src))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(sqlite.AuditPath(path), trail, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			st := openAt(t, path)
			got, err := st.AuditRecords(t.Context(), 0, 100)
			if err != nil || len(got) != len(recs) {
				t.Fatalf("AuditRecords: %d records, %v; want %d", len(got), err, len(recs))
			}
			found, err := st.SearchAudit(t.Context(), karte.AuditQuery{Filters: []karte.AuditFilter{{Name: audit.IndexPatient, Values: []string{"Patient/p7"}}}, Limit: 10})
			if err != nil || len(found) != 1 || found[0].Seq != 7 {
				t.Fatalf("SearchAudit by patient: %d records, %v; want record 7", len(found), err)
			}
			w := audit.NewWriter(st, audit.NewChain(audittest.Key, audittest.Every), audit.WriterOptions{Now: audittest.Clock(), Interval: -1})
			if err := w.Record(t.Context(), audittest.Event(26)); err != nil {
				t.Fatal(err)
			}
			w.Close()
			rep, err := audittest.VerifyBuilt(t.Context(), st)
			if err != nil || rep.Records != 26 || rep.Unindexed != 0 {
				t.Fatalf("Verify: %+v, %v; want 26 records, all indexed", rep, err)
			}
			if err := execRaw(path, `SELECT 1 FROM audit_block`); err == nil || !strings.Contains(err.Error(), "no such table") {
				t.Fatalf("the record's file still has audit_block: %v", err)
			}
		})
	}
}

// copyTable copies the rows of table from the database file from to the
// one at to.
func copyTable(t *testing.T, from, to, table string) {
	t.Helper()
	db, err := sqlite3.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Exec(`ATTACH DATABASE '` + from + `' AS src`); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO main.` + table + ` SELECT * FROM src.` + table); err != nil {
		t.Fatalf("copy %s: %v", table, err)
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

// TestTrailLostOrReplaced: a database whose audit trail file was removed,
// or replaced by the trail of another database, is refused, rather than
// opened with a new, empty trail or with another's.
func TestTrailLostOrReplaced(t *testing.T) {
	withTrail := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "kartehub.db")
		st := openAt(t, path)
		audittest.BuildBlocks(t, st, 5)
		st.Close()
		return path
	}
	refused := func(t *testing.T, path string) {
		t.Helper()
		st, err := sqlite.Open(t.Context(), path)
		if err == nil {
			st.Close()
			t.Fatal("opened a database beside a trail that is not its own")
		}
		if !strings.Contains(err.Error(), "is not this database's") {
			t.Fatalf("error: %v", err)
		}
	}
	t.Run("lost", func(t *testing.T) {
		path := withTrail(t)
		if err := os.Remove(sqlite.AuditPath(path)); err != nil {
			t.Fatal(err)
		}
		refused(t, path)
		refused(t, path) // and again: the empty trail made on the way is no better
	})
	t.Run("replaced", func(t *testing.T) {
		path, other := withTrail(t), withTrail(t)
		trail, err := os.ReadFile(sqlite.AuditPath(other))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sqlite.AuditPath(path), trail, 0o600); err != nil {
			t.Fatal(err)
		}
		refused(t, path)
	})
	t.Run("kept", func(t *testing.T) {
		path := withTrail(t)
		st := openAt(t, path)
		if recs, err := st.AuditRecords(t.Context(), 0, 10); err != nil || len(recs) != 5 {
			t.Fatalf("reopened: %d records, %v", len(recs), err)
		}
	})
}
