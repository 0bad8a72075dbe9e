package record

import (
	"context"
	"strconv"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/jsonpatch"
	"kartehub/internal/karte"
)

// Create stores body as a new resource of type typ with a server-assigned
// id. With ifNoneExist (a query string such as "identifier=sys|1") it
// creates nothing if exactly one resource matches, and fails with
// PreconditionFailed if several do.
func (s *Service) Create(ctx context.Context, typ string, body []byte, ifNoneExist string) (*Outcome, error) {
	ctx, err := s.authorizeWrite(ctx, karte.InteractionCreate, typ)
	if err != nil {
		return nil, err
	}
	res, err := decode(typ, body)
	if err != nil {
		return nil, err
	}
	var crit *criteria
	if ifNoneExist != "" {
		if crit, err = s.criteria(ctx, typ, ifNoneExist); err != nil {
			return nil, err
		}
	}
	at := s.timestamp()
	id, d := newID(at), s.draft(res)
	d.prepare(id, at)
	return s.write(ctx, at, func(tx karte.Tx, at time.Time) (*Outcome, error) {
		if crit != nil {
			cur, err := crit.single(ctx, tx)
			if err == nil && cur != nil {
				err = admitInTx(ctx, tx, typ, cur.ID)
			}
			if err != nil || cur != nil {
				return &Outcome{Resource: cur, Unchanged: true}, err
			}
		}
		return put(ctx, tx, nil, typ, id, d, "POST", at)
	})
}

// Update stores body as the next version of typ/id, creating the resource
// if it does not exist. ifMatch, if not zero, is the version the client
// expects to replace.
func (s *Service) Update(ctx context.Context, typ, id string, body []byte, ifMatch int64) (*Outcome, error) {
	ctx, err := s.authorizeWrite(ctx, karte.InteractionUpdate, typ)
	if err != nil {
		return nil, err
	}
	res, err := decode(typ, body)
	if err != nil {
		return nil, err
	}
	if err := checkBodyID(res, id); err != nil {
		return nil, err
	}
	return s.write(ctx, s.timestamp(), func(tx karte.Tx, at time.Time) (*Outcome, error) {
		return update(ctx, tx, typ, id, s.draft(res), ifMatch, at)
	})
}

func update(ctx context.Context, tx karte.Tx, typ, id string, d *draft, ifMatch int64, at time.Time) (*Outcome, error) {
	cur, err := current(ctx, tx, typ, id)
	if err != nil {
		return nil, err
	}
	if err := checkMatch(cur, ifMatch); err != nil {
		return nil, err
	}
	return put(ctx, tx, cur, typ, id, d, "PUT", at)
}

func checkBodyID(res *fhir.Object, id string) error {
	switch got := res.String("id"); {
	case got == "":
		return karte.Errorf(karte.Invalid, "the resource has no id; an update must carry the id of its URL (%s)", id)
	case got != id:
		return karte.Errorf(karte.Invalid, "the resource id %q does not match the id %q in the URL", got, id)
	}
	return nil
}

// ConditionalUpdate updates the one resource of type typ that matches query
// (a query string), or creates one if none does.
func (s *Service) ConditionalUpdate(ctx context.Context, typ, query string, body []byte, ifMatch int64) (*Outcome, error) {
	ctx, err := s.authorizeWrite(ctx, karte.InteractionUpdate, typ)
	if err != nil {
		return nil, err
	}
	res, err := decode(typ, body)
	if err != nil {
		return nil, err
	}
	crit, err := s.criteria(ctx, typ, query)
	if err != nil {
		return nil, err
	}
	return s.write(ctx, s.timestamp(), func(tx karte.Tx, at time.Time) (*Outcome, error) {
		return conditionalUpdate(ctx, tx, typ, crit, s.draft(res), ifMatch, at)
	})
}

func conditionalUpdate(ctx context.Context, tx karte.Tx, typ string, crit *criteria, d *draft, ifMatch int64, at time.Time) (*Outcome, error) {
	match, err := crit.single(ctx, tx)
	if err != nil {
		return nil, err
	}
	id := d.res.String("id")
	switch {
	case match != nil && id != "" && id != match.ID:
		return nil, karte.Errorf(karte.Invalid, "the resource id %q differs from the id %q of the resource that matches %s", id, match.ID, crit)
	case match != nil:
		id = match.ID
	case id == "":
		id = newID(at)
	}
	return update(ctx, tx, typ, id, d, ifMatch, at)
}

// Patch applies a JSON Patch (RFC 6902) to the current version of typ/id.
func (s *Service) Patch(ctx context.Context, typ, id string, patch []byte, ifMatch int64) (*Outcome, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	p, err := jsonpatch.Parse(patch)
	if err != nil {
		return nil, karte.Errorf(karte.Invalid, "bad JSON Patch: %w", err)
	}
	if ctx, err = s.authorizeWrite(ctx, karte.InteractionPatch, typ); err != nil {
		return nil, err
	}
	return s.write(ctx, s.timestamp(), func(tx karte.Tx, at time.Time) (*Outcome, error) {
		return s.applyPatch(ctx, tx, typ, id, p, ifMatch, at)
	})
}

func (s *Service) applyPatch(ctx context.Context, tx karte.Tx, typ, id string, p jsonpatch.Patch, ifMatch int64, at time.Time) (*Outcome, error) {
	cur, err := tx.Current(ctx, typ, id)
	if err != nil {
		return nil, err
	}
	if cur.Deleted {
		return nil, karte.Errorf(karte.Gone, "%s/%s is deleted", typ, id)
	}
	if err := checkMatch(cur, ifMatch); err != nil {
		return nil, err
	}
	doc, err := fhir.Parse(cur.Body)
	if err != nil {
		return nil, err
	}
	patched, err := p.Apply(doc)
	if err != nil {
		return nil, karte.Errorf(karte.Unprocessable, "the patch does not apply: %w", err)
	}
	res, ok := patched.(*fhir.Object)
	if !ok {
		return nil, karte.Errorf(karte.Unprocessable, "the patch leaves no resource")
	}
	if err := checkResource(typ, res); err != nil {
		return nil, err
	}
	if err := checkBodyID(res, id); err != nil {
		return nil, karte.Errorf(karte.Unprocessable, "the patch changes the id: %w", err)
	}
	return put(ctx, tx, cur, typ, id, s.draft(res), "PATCH", at)
}

// Delete records the deletion of typ/id. Deleting what is already deleted or
// never existed changes nothing and is no error.
func (s *Service) Delete(ctx context.Context, typ, id string, ifMatch int64) (*Outcome, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	ctx, err := s.authorizeWrite(ctx, karte.InteractionDelete, typ)
	if err != nil {
		return nil, err
	}
	return s.write(ctx, s.timestamp(), func(tx karte.Tx, at time.Time) (*Outcome, error) {
		cur, err := current(ctx, tx, typ, id)
		if err != nil {
			return nil, err
		}
		if err := checkMatch(cur, ifMatch); err != nil {
			return nil, err
		}
		return remove(ctx, tx, cur, at)
	})
}

// ConditionalDelete deletes the one resource of type typ that matches
// query. None matching is no error; several fail with PreconditionFailed.
func (s *Service) ConditionalDelete(ctx context.Context, typ, query string) (*Outcome, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	crit, err := s.criteria(ctx, typ, query)
	if err != nil {
		return nil, err
	}
	if ctx, err = s.authorizeWrite(ctx, karte.InteractionDelete, typ); err != nil {
		return nil, err
	}
	return s.write(ctx, s.timestamp(), func(tx karte.Tx, at time.Time) (*Outcome, error) {
		cur, err := crit.single(ctx, tx)
		if err != nil {
			return nil, err
		}
		return remove(ctx, tx, cur, at)
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
