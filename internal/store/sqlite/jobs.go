package sqlite

import (
	"context"
	"time"

	"github.com/ncruces/go-sqlite3"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

var (
	_ karte.Reindexer = (*Store)(nil)
	_ karte.JobStore  = (*Store)(nil)
)

// Reindex implements karte.Reindexer.
func (s *Store) Reindex(ctx context.Context, r *karte.Resource, ix *karte.Index) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		t := kt.(*tx)
		rkey := sqlsearch.ResourceKey(r.Type, r.ID)
		st, err := t.c.query(`SELECT rid FROM resource WHERE rkey = ? AND type = ? AND id = ? AND version = ?`,
			rkey, r.Type, r.ID, r.VersionID)
		if err != nil {
			return err
		}
		rid := int64(0)
		if st.Step() {
			rid = st.ColumnInt64(0)
		}
		if err := done(st); err != nil || rid == 0 {
			return err // not current any more: nothing to do
		}
		if err := dropIndex(t.c, rid); err != nil {
			return err
		}
		return writeIndex(t.c, rid, r.Type, ix)
	})
}

// PutJob implements karte.JobStore.
func (s *Store) PutJob(ctx context.Context, name string, state []byte) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		return kt.(*tx).c.exec(`INSERT OR REPLACE INTO job (name, state, updated) VALUES (?, ?, ?)`,
			name, state, time.Now().UnixMilli())
	})
}

// DeleteJob implements karte.JobStore.
func (s *Store) DeleteJob(ctx context.Context, name string) error {
	return s.Write(ctx, func(kt karte.Tx) error {
		return kt.(*tx).c.exec(`DELETE FROM job WHERE name = ?`, name)
	})
}

// Jobs implements karte.JobStore.
func (s *Store) Jobs(ctx context.Context) (map[string][]byte, error) {
	jobs := map[string][]byte{}
	err := s.withReader(ctx, func(c *conn) error {
		return c.each(sqlsearch.Statement{SQL: `SELECT name, state FROM job`}, func(st *sqlite3.Stmt) {
			jobs[st.ColumnText(0)] = st.ColumnBlob(1, nil)
		})
	})
	return jobs, err
}
