package sqlite

import (
	"context"
	"fmt"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

// tx is the karte.Tx of the writer connection. There is only one writer,
// so Lock has nothing to do and Current needs no row lock.
type tx struct {
	c *conn
	// last is the latest version seen of one resource in this transaction,
	// so that the common Current-then-Put sequence seeks the index once.
	last struct {
		typ, id string
		version int64 // 0: known not to exist
	}
}

func (t *tx) remember(typ, id string, version int64) {
	t.last.typ, t.last.id, t.last.version = typ, id, version
}

func (t *tx) Current(_ context.Context, typ, id string) (*karte.Resource, error) {
	r, err := current(t.c, typ, id)
	switch {
	case err == nil:
		t.remember(typ, id, r.VersionID)
	case karte.IsKind(err, karte.NotFound):
		t.remember(typ, id, 0)
	}
	return r, err
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
	a := &r.Author
	err := t.c.exec(`INSERT INTO resource_version (rkey, type, id, version, last_updated, deleted, method, body,
			author_kind, author_id, author_person, author_name, author_app)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sqlsearch.ResourceKey(r.Type, r.ID), r.Type, r.ID, r.VersionID, r.LastUpdated.UnixMilli(), r.Deleted, r.Method, r.Body,
		a.Kind, a.ID, a.Person, a.Name, a.App)
	if isConstraint(err) {
		return karte.Errorf(karte.Conflict, "%s/%s already has version %d", r.Type, r.ID, r.VersionID)
	}
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", r.Type, r.ID, err)
	}
	r.Seq = t.c.db.LastInsertRowID()
	t.remember(r.Type, r.ID, r.VersionID)
	return t.reindex(r, ix)
}

// checkVersion enforces that versions follow one another without gaps.
func (t *tx) checkVersion(r *karte.Resource) error {
	if t.last.typ == r.Type && t.last.id == r.ID && r.Type != "" {
		return versionFollows(r, t.last.version)
	}
	st, err := t.c.query(`SELECT max(version) FROM resource_version WHERE rkey = ? AND type = ? AND id = ?`,
		sqlsearch.ResourceKey(r.Type, r.ID), r.Type, r.ID)
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
	return versionFollows(r, have)
}

func versionFollows(r *karte.Resource, have int64) error {
	if r.VersionID != have+1 {
		return karte.Errorf(karte.Conflict, "%s/%s: version %d follows version %d, not %d",
			r.Type, r.ID, have+1, have, r.VersionID)
	}
	return nil
}

func (t *tx) reindex(r *karte.Resource, ix *karte.Index) error {
	rkey := sqlsearch.ResourceKey(r.Type, r.ID)
	if r.VersionID > 1 {
		if err := t.c.exec(`DELETE FROM resource_identifier WHERE rkey = ? AND type = ? AND id = ?`,
			rkey, r.Type, r.ID); err != nil {
			return err
		}
	}
	rid, err := t.live(r, rkey)
	if err != nil || r.Deleted {
		return err
	}
	if ix == nil {
		return nil
	}
	for _, ident := range ix.Identifiers {
		if err := t.c.exec(`INSERT INTO resource_identifier (rkey, vkey, type, id, system, value) VALUES (?, ?, ?, ?, ?, ?)`,
			rkey, sqlsearch.ValueKey(r.Type, ident.Value), r.Type, r.ID, ident.System, ident.Value); err != nil {
			return err
		}
	}
	return writeIndex(t.c, rid, r.Type, ix)
}

// live brings the resource table up to date with r: inserted for a new
// resource, updated for a new version, removed for a deletion. It returns
// the resource's rid, with its old search index removed.
func (t *tx) live(r *karte.Resource, rkey int64) (int64, error) {
	rid := int64(0)
	if r.VersionID > 1 { // a first version has no row yet
		st, err := t.c.query(`SELECT rid FROM resource WHERE rkey = ? AND type = ? AND id = ?`, rkey, r.Type, r.ID)
		if err != nil {
			return 0, err
		}
		if st.Step() {
			rid = st.ColumnInt64(0)
		}
		if err := done(st); err != nil {
			return 0, err
		}
	}
	if rid != 0 {
		if err := dropIndex(t.c, rid); err != nil {
			return 0, err
		}
	}
	switch {
	case r.Deleted && rid != 0:
		return rid, t.c.exec(`DELETE FROM resource WHERE rid = ?`, rid)
	case r.Deleted:
		return 0, nil
	case rid != 0:
		return rid, t.c.exec(`UPDATE resource SET version = ?, seq = ?, last_updated = ? WHERE rid = ?`,
			r.VersionID, r.Seq, r.LastUpdated.UnixMilli(), rid)
	}
	err := t.c.exec(`INSERT INTO resource (rkey, type, id, version, seq, last_updated) VALUES (?, ?, ?, ?, ?, ?)`,
		rkey, r.Type, r.ID, r.VersionID, r.Seq, r.LastUpdated.UnixMilli())
	return t.c.db.LastInsertRowID(), err
}

func (t *tx) FindByIdentifier(_ context.Context, typ string, ident karte.Identifier) ([]string, error) {
	q := `SELECT DISTINCT id FROM resource_identifier WHERE vkey = ? AND type = ? AND value = ?`
	args := []any{sqlsearch.ValueKey(typ, ident.Value), typ, ident.Value}
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
