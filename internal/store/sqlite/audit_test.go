package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/audit/audittest"
	"kartehub/internal/store/sqlite"
)

func TestAudit(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audittest.Harness {
		path := filepath.Join(t.TempDir(), "kartehub.db")
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return audittest.Harness{
			Log:  st,
			Exec: func(_ context.Context, query string, args ...any) error { return execRaw(path, query, args...) },
			Unguard: []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`,
				`DROP TRIGGER audit_index_no_update`, `DROP TRIGGER audit_index_no_delete`},
		}
	})
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
