package sqlite

import (
	"context"
	"fmt"

	"kartehub/internal/karte"
)

// tx is the karte.Tx of the writer connection. There is only one writer,
// so Lock has nothing to do and Current needs no row lock.
type tx struct {
	c *conn
}

func (t *tx) Current(_ context.Context, typ, id string) (*karte.Resource, error) {
	return current(t.c, typ, id)
}

func (t *tx) VRead(_ context.Context, typ, id string, version int64) (*karte.Resource, error) {
	return vread(t.c, typ, id, version)
}

func (t *tx) Lock(context.Context, string) error { return nil }

func (t *tx) Put(_ context.Context, r *karte.Resource, ix *karte.Index) error {
	if err := t.checkVersion(r); err != nil {
		return err
	}
	if r.Deleted {
		r.Body = nil // a deletion has no content, whatever the caller left here
	}
	err := t.c.exec(`INSERT INTO resource_version (type, id, version, last_updated, deleted, method, body)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		r.Type, r.ID, r.VersionID, r.LastUpdated.UnixMilli(), r.Deleted, r.Method, r.Body)
	if isConstraint(err) {
		return karte.Errorf(karte.Conflict, "%s/%s already has version %d", r.Type, r.ID, r.VersionID)
	}
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", r.Type, r.ID, err)
	}
	r.Seq = t.c.db.LastInsertRowID()
	if err := t.c.exec(`INSERT OR REPLACE INTO resource (type, id, version, seq, deleted) VALUES (?, ?, ?, ?, ?)`,
		r.Type, r.ID, r.VersionID, r.Seq, r.Deleted); err != nil {
		return fmt.Errorf("put %s/%s: %w", r.Type, r.ID, err)
	}
	return t.reindex(r, ix)
}

// checkVersion enforces that versions follow one another without gaps.
func (t *tx) checkVersion(r *karte.Resource) error {
	st, err := t.c.query(`SELECT version FROM resource WHERE type = ? AND id = ?`, r.Type, r.ID)
	if err != nil {
		return err
	}
	have := int64(0)
	if st.Step() {
		have = st.ColumnInt64(0)
	}
	if err := done(st); err != nil {
		return err
	}
	if r.VersionID != have+1 {
		return karte.Errorf(karte.Conflict, "%s/%s: version %d follows version %d, not %d",
			r.Type, r.ID, have+1, have, r.VersionID)
	}
	return nil
}

func (t *tx) reindex(r *karte.Resource, ix *karte.Index) error {
	if r.VersionID > 1 {
		if err := t.c.exec(`DELETE FROM resource_identifier WHERE type = ? AND id = ?`, r.Type, r.ID); err != nil {
			return err
		}
	}
	if r.Deleted || ix == nil {
		return nil
	}
	for _, ident := range ix.Identifiers {
		if err := t.c.exec(`INSERT INTO resource_identifier (type, id, system, value) VALUES (?, ?, ?, ?)`,
			r.Type, r.ID, ident.System, ident.Value); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) FindByIdentifier(_ context.Context, typ string, ident karte.Identifier) ([]string, error) {
	q := `SELECT DISTINCT id FROM resource_identifier WHERE type = ? AND value = ?`
	args := []any{typ, ident.Value}
	if ident.System != "" {
		q += ` AND system = ?`
		args = append(args, ident.System)
	}
	st, err := t.c.query(q, args...)
	if err != nil {
		return nil, err
	}
	var ids []string
	for st.Step() {
		ids = append(ids, st.ColumnText(0))
	}
	return ids, done(st)
}
