package record

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"kartehub/internal/karte"
)

// criteria are the search criteria of a conditional interaction. Until the
// search engine exists they are limited to _id and identifier, which the
// store can answer exactly; anything else is refused rather than ignored,
// because ignoring a criterion would match the wrong resources.
type criteria struct {
	typ    string
	ids    []string             // _id: any of these
	idents [][]karte.Identifier // identifier: for each parameter, any of its values
	raw    string
}

func (c *criteria) String() string { return c.typ + "?" + c.raw }

func parseOptionalCriteria(typ, query string) (*criteria, error) {
	if query == "" {
		return nil, nil
	}
	return parseCriteria(typ, query)
}

func parseCriteria(typ, query string) (*criteria, error) {
	values, err := url.ParseQuery(query)
	if err != nil {
		return nil, karte.Errorf(karte.Invalid, "bad conditional criteria %q: %w", query, err)
	}
	c := &criteria{typ: typ, raw: query}
	for name, vals := range values {
		for _, v := range vals {
			if err := c.add(name, v); err != nil {
				return nil, err
			}
		}
	}
	if len(c.ids) == 0 && len(c.idents) == 0 {
		return nil, karte.Errorf(karte.Invalid, "conditional criteria %q select nothing: give _id or identifier", query)
	}
	return c, nil
}

func (c *criteria) add(name, value string) error {
	if value == "" {
		return karte.Errorf(karte.Invalid, "conditional criteria: %s has no value", name)
	}
	switch name {
	case "_id":
		if len(c.ids) > 0 {
			return karte.Errorf(karte.Invalid, "conditional criteria: give _id once (list alternatives with commas)")
		}
		c.ids = strings.Split(value, ",")
	case "identifier":
		var any []karte.Identifier
		for _, tok := range strings.Split(value, ",") {
			system, val, found := strings.Cut(tok, "|")
			if !found {
				system, val = "", tok
			}
			any = append(any, karte.Identifier{System: system, Value: val})
		}
		c.idents = append(c.idents, any)
	default:
		return withIssue(karte.Errorf(karte.Invalid,
			"conditional criteria: parameter %q is not supported (supported: _id, identifier)", name), "not-supported")
	}
	return nil
}

// matches returns the ids of the live resources that meet the criteria. It
// first locks the criteria, so that a concurrent conditional create with the
// same criteria waits until this transaction ends.
func (c *criteria) matches(ctx context.Context, tx karte.Tx) ([]string, error) {
	for _, key := range c.lockKeys() {
		if err := tx.Lock(ctx, key); err != nil {
			return nil, err
		}
	}
	var result []string
	first := true
	keep := func(ids []string) {
		if first {
			result, first = ids, false
			return
		}
		result = slices.DeleteFunc(result, func(id string) bool { return !slices.Contains(ids, id) })
	}
	for _, alternatives := range c.idents {
		var ids []string
		for _, ident := range alternatives {
			found, err := tx.FindByIdentifier(ctx, c.typ, ident)
			if err != nil {
				return nil, err
			}
			ids = append(ids, found...)
		}
		keep(ids)
	}
	if len(c.ids) > 0 {
		ids, err := c.liveIDs(ctx, tx)
		if err != nil {
			return nil, err
		}
		keep(ids)
	}
	slices.Sort(result)
	return slices.Compact(result), nil
}

// lockKeys names what the criteria look at, in a fixed order so that
// transactions taking several locks cannot deadlock on each other. Locking
// each identifier rather than the query text also serialises criteria that
// are written differently but overlap.
func (c *criteria) lockKeys() []string {
	var keys []string
	for _, alternatives := range c.idents {
		for _, ident := range alternatives {
			keys = append(keys, c.typ+"|identifier|"+ident.Value)
		}
	}
	for _, id := range c.ids {
		keys = append(keys, c.typ+"|_id|"+id)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

func (c *criteria) liveIDs(ctx context.Context, tx karte.Tx) ([]string, error) {
	var ids []string
	for _, id := range c.ids {
		cur, err := current(ctx, tx, c.typ, id)
		if err != nil {
			return nil, err
		}
		if cur != nil && !cur.Deleted {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// withIssue gives err one issue of the OperationOutcome issue type code,
// for errors that a more precise type than their Kind's describes.
func withIssue(err *karte.Error, code string) *karte.Error {
	err.Issues = []karte.Issue{{Severity: "error", Code: code, Diagnostics: err.Message}}
	return err
}

// single returns the current version of the one matching resource, nil if
// none matches, and PreconditionFailed if several do.
func (c *criteria) single(ctx context.Context, tx karte.Tx) (*karte.Resource, error) {
	ids, err := c.matches(ctx, tx)
	switch {
	case err != nil:
		return nil, err
	case len(ids) == 0:
		return nil, nil
	case len(ids) > 1:
		return nil, withIssue(karte.Errorf(karte.PreconditionFailed, "%d resources match %s; the criteria must select one", len(ids), c),
			"multiple-matches")
	}
	return tx.Current(ctx, c.typ, ids[0])
}
