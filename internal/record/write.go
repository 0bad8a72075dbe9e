package record

import (
	"bytes"
	"context"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/search"
)

// decode parses and validates a resource sent for type typ.
func decode(typ string, body []byte) (*fhir.Object, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	res, err := fhir.ParseObject(body)
	if err != nil {
		return nil, &karte.Error{Kind: karte.Invalid, Message: "the body is not valid JSON", Err: err,
			Issues: []karte.Issue{{Severity: "error", Code: "structure", Diagnostics: err.Error()}}}
	}
	return res, checkResource(typ, res)
}

// checkResource validates res as a resource of type typ.
func checkResource(typ string, res *fhir.Object) error {
	if got := res.String("resourceType"); got != typ {
		return karte.Errorf(karte.Invalid, "resourceType is %q, but the request is for %s", got, typ)
	}
	if issues := fhir.Validate(res); len(issues) > 0 {
		return &karte.Error{Kind: karte.Unprocessable, Issues: issues,
			Message: typ + " does not conform to the FHIR R4 definition: " + issues[0].Diagnostics}
	}
	if typ == "SearchParameter" {
		return checkSearchParameter(res)
	}
	return nil
}

// current returns the current version of typ/id, or nil if it never existed.
func current(ctx context.Context, tx karte.Tx, typ, id string) (*karte.Resource, error) {
	cur, err := tx.Current(ctx, typ, id)
	if karte.IsKind(err, karte.NotFound) {
		return nil, nil
	}
	return cur, err
}

// checkMatch enforces If-Match: ifMatch is the expected version, 0 for none.
func checkMatch(cur *karte.Resource, ifMatch int64) error {
	if ifMatch == 0 {
		return nil
	}
	if cur == nil || cur.VersionID != ifMatch {
		have := "no version"
		if cur != nil {
			have = "version " + itoa(cur.VersionID)
		}
		return karte.Errorf(karte.PreconditionFailed, "If-Match asks for version %d, but the resource has %s", ifMatch, have)
	}
	return nil
}

// put writes res as the version of typ/id that follows cur (nil for a new
// resource). Content equal to a live current version writes nothing.
func put(ctx context.Context, tx karte.Tx, cur *karte.Resource, typ, id string, d *draft, method string, at time.Time) (*Outcome, error) {
	version := int64(1)
	if cur != nil && !cur.Deleted {
		if err := admitInTx(ctx, tx, typ, id); err != nil {
			return nil, err
		}
	}
	if cur != nil {
		version = cur.VersionID + 1
		if !cur.Deleted && sameContent(d.res, id, cur) {
			return &Outcome{Resource: cur, Unchanged: true}, nil
		}
	}
	r := &karte.Resource{
		Type: typ, ID: id, VersionID: version, LastUpdated: at, Method: method,
		Author: karte.AuthorFrom(ctx), Body: d.encode(id, version, at),
	}
	if err := tx.Put(ctx, r, d.index()); err != nil {
		return nil, err
	}
	if err := admitInTx(ctx, tx, typ, id); err != nil {
		return nil, err
	}
	return &Outcome{Resource: r, Created: cur == nil || cur.Deleted}, nil
}

// sameContent reports whether res, stamped as version cur, holds what cur
// holds. The order of object members does not count: JSON gives it no
// meaning, and clients that rebuild a resource rarely keep it.
func sameContent(res *fhir.Object, id string, cur *karte.Resource) bool {
	if bytes.Equal(stamp(res, id, cur.VersionID, cur.LastUpdated), cur.Body) {
		return true
	}
	old, err := fhir.Parse(cur.Body)
	return err == nil && fhir.Equal(old, res)
}

// remove writes a deletion version after cur.
func remove(ctx context.Context, tx karte.Tx, cur *karte.Resource, at time.Time) (*Outcome, error) {
	if cur == nil {
		return &Outcome{Unchanged: true}, nil
	}
	if cur.Deleted {
		return &Outcome{Resource: cur, Unchanged: true}, nil
	}
	if err := admitInTx(ctx, tx, cur.Type, cur.ID); err != nil {
		return nil, err
	}
	r := &karte.Resource{Type: cur.Type, ID: cur.ID, VersionID: cur.VersionID + 1, LastUpdated: at,
		Method: "DELETE", Deleted: true, Author: karte.AuthorFrom(ctx)}
	if err := tx.Put(ctx, r, nil); err != nil {
		return nil, err
	}
	return &Outcome{Resource: r}, nil
}

// draft is a resource on its way into the store, with the encoding it
// will most likely be stored as. Callers encode a draft before the write
// transaction wherever the id and version can be foreseen, because the
// store's writer is the one part of a write that does not run in parallel.
type draft struct {
	res  *fhir.Object
	key  stampKey // what body was encoded for
	body []byte
	// indexer extracts the search index; ix caches its result, which
	// depends only on the content, not on the stamp.
	indexer func(*fhir.Object) *karte.Index
	ix      *karte.Index
}

type stampKey struct {
	id      string
	version int64
	at      time.Time
}

// encode returns the resource stamped with id, version and time, reusing
// the earlier encoding if it was made for the same stamp.
func (d *draft) encode(id string, version int64, at time.Time) []byte {
	k := stampKey{id, version, at}
	if d.body == nil || d.key != k {
		d.body, d.key = stamp(d.res, id, version, at), k
	}
	return d.body
}

// index returns the search index of the resource.
func (d *draft) index() *karte.Index {
	if d.ix == nil {
		if d.indexer != nil {
			d.ix = d.indexer(d.res)
		} else {
			d.ix = &karte.Index{Identifiers: search.Identifiers(d.res)}
		}
	}
	return d.ix
}

// prepare does ahead of the write what can be done there: the encoding
// for version 1 and the search index.
func (d *draft) prepare(id string, at time.Time) {
	d.encode(id, 1, at)
	d.index()
}

// changed drops the encoding and index after the resource was modified.
func (d *draft) changed() { d.body, d.ix = nil, nil }

// write runs fn in one store transaction and returns its outcome. The time
// of the write is taken before the transaction, so that fn and whatever the
// caller prepares agree on it.
func (s *Service) write(ctx context.Context, at time.Time, fn func(tx karte.Tx, at time.Time) (*Outcome, error)) (*Outcome, error) {
	var out *Outcome
	err := s.store.Write(ctx, func(tx karte.Tx) error {
		var err error
		out, err = fn(tx, at)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.afterWrite(ctx, out)
	return out, nil
}
