package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"kartehub/internal/karte"
	"kartehub/internal/store/sqlsearch"
)

// insertVersion adds a version and points the resource's current row at it,
// in one statement, returning the version's seq. A new resource's row gets
// a new rid here, and so does one written again after its deletion (it
// sorts as a new resource, as in SQLite, whose live row a deletion
// removes); other versions keep it.
const insertVersion = `WITH v AS (
	INSERT INTO resource_version (type, id, version, last_updated, deleted, method, body,
		author_kind, author_id, author_person, author_name, author_app)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $10, $11, $12, $13)
	RETURNING seq
)
INSERT INTO resource (type, id, version, seq, deleted, rkey, last_updated)
SELECT $1, $2, $3, seq, $5, $8, $4 FROM v
ON CONFLICT (type, id) DO UPDATE
SET version = excluded.version, seq = excluded.seq, deleted = excluded.deleted, last_updated = excluded.last_updated,
	rid = CASE WHEN resource.deleted THEN excluded.rid ELSE resource.rid END
RETURNING seq`

// insertIdentifiers adds a resource's identifiers, passed as two arrays.
const insertIdentifiers = `INSERT INTO resource_identifier (type, id, system, value)
SELECT $1, $2, s, v FROM unnest($3::text[], $4::text[]) AS u(s, v)`

// Put stores r as the resource's next version and makes it current, with
// ix's identifiers and search index replacing the previous version's (none
// for a deletion or a nil ix). It locks the resource first, so concurrent
// writers of it queue, and sends everything else in one round trip.
func (t *tx) Put(ctx context.Context, r *karte.Resource, ix *karte.Index) error {
	if r.Type == "" || r.ID == "" {
		return karte.Errorf(karte.Invalid, "put: a version needs a type and an id, got %q/%q", r.Type, r.ID)
	}
	if err := t.checkVersion(ctx, r); err != nil {
		return err
	}
	body := r.Body
	if r.Deleted {
		body = nil
	}
	a := r.Author
	b := &pgx.Batch{}
	b.Queue(insertVersion, r.Type, r.ID, r.VersionID, r.LastUpdated.UnixMilli(), r.Deleted, r.Method, body,
		sqlsearch.ResourceKey(r.Type, r.ID), a.Kind, a.ID, a.Person, a.Name, a.App)
	b.Queue(`DELETE FROM resource_identifier WHERE type = $1 AND id = $2`, r.Type, r.ID)
	if !r.Deleted && ix != nil && len(ix.Identifiers) > 0 {
		systems, values := make([]string, len(ix.Identifiers)), make([]string, len(ix.Identifiers))
		for i, id := range ix.Identifiers {
			systems[i], values[i] = id.System, id.Value
		}
		b.Queue(insertIdentifiers, r.Type, r.ID, systems, values)
	}
	if r.VersionID > 1 { // a first version has no index rows to replace
		b.Queue(deleteIndex, r.Type, r.ID)
	}
	if !r.Deleted && ix != nil {
		queueIndex(b, r.Type, r.ID, ix)
	}
	br := t.tx.SendBatch(ctx, b)
	var seq int64
	err := br.QueryRow().Scan(&seq)
	for i := 1; err == nil && i < b.Len(); i++ {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return t.fail(err, "put %s/%s/_history/%d", r.Type, r.ID, r.VersionID)
	}
	r.Seq = seq
	return nil
}

// checkVersion locks the resource and returns Conflict unless r's VersionID
// follows the current version (or is 1 for a new resource).
//
// Two writers creating one id race: both find it absent and put version 1.
// The later one fails here if the other has committed, or on the unique
// keys if not; either way Write runs its fn again, which then finds the
// other's version and decides anew.
func (t *tx) checkVersion(ctx context.Context, r *karte.Resource) error {
	var current int64
	err := t.tx.QueryRow(ctx, lockCurrent, r.Type, r.ID).Scan(&current)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return t.fail(err, "put %s/%s/_history/%d", r.Type, r.ID, r.VersionID)
	}
	if r.VersionID == current+1 {
		return nil
	}
	if current == 0 {
		return karte.Errorf(karte.Conflict, "put %s/%s/_history/%d: the resource is new, its first version is 1",
			r.Type, r.ID, r.VersionID)
	}
	err = karte.Errorf(karte.Conflict, "put %s/%s/_history/%d: the current version is %d",
		r.Type, r.ID, r.VersionID, current)
	if t.absent[resourceKey{r.Type, r.ID}] && t.lost == nil {
		t.lost = err // created by another writer since Current found it absent
	}
	return err
}
