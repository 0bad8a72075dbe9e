package record

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"kartehub/internal/karte"
)

// criteria are the search criteria of a conditional interaction. With a
// search engine (withQuery) they may use any search parameter and are run
// as a search inside the write transaction; without one they are limited to
// _id and identifier, which the store answers itself. A criterion that
// cannot be answered is refused rather than ignored, because ignoring it
// would match the wrong resources.
type criteria struct {
	typ    string
	ids    []string             // _id: any of these
	idents [][]karte.Identifier // identifier: for each parameter, any of its values
	other  []string             // names of the other parameters, which need the search engine
	values url.Values
	query  *karte.Query // set by withQuery
	raw    string
}

func (c *criteria) String() string { return c.typ + "?" + c.raw }

func parseCriteria(typ, query string) (*criteria, error) {
	values, err := url.ParseQuery(query)
	if err != nil {
		return nil, karte.Errorf(karte.Invalid, "bad conditional criteria %q: %w", query, err)
	}
	c := &criteria{typ: typ, raw: query, values: values}
	for name, vals := range values {
		for _, v := range vals {
			if err := c.add(name, v); err != nil {
				return nil, err
			}
		}
	}
	if len(values) == 0 {
		return nil, karte.Errorf(karte.Invalid, "conditional criteria %q select nothing", query)
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
		c.other = append(c.other, name)
	}
	return nil
}

// criteria parses query as criteria on type typ, made a search with the
// service's engine.
func (s *Service) criteria(ctx context.Context, typ, query string) (*criteria, error) {
	c, err := parseCriteria(typ, query)
	if err == nil {
		err = s.withQuery(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// withQuery makes c a search, with the service's search engine; strict,
// since a parameter ignored would match the wrong resources. Without an
// engine, criteria beyond _id and identifier are refused.
func (s *Service) withQuery(ctx context.Context, c *criteria) error {
	if c == nil {
		return nil
	}
	if s.search == nil {
		if len(c.other) > 0 {
			return withIssue(karte.Errorf(karte.Invalid,
				"conditional criteria: parameter %q is not supported (supported: _id, identifier)", c.other[0]), "not-supported")
		}
		return nil
	}
	req, err := s.search.Parse(ctx, []string{c.typ}, c.values, true)
	if err != nil {
		return karte.Errorf(karte.KindOf(err), "conditional criteria %s: %w", c, err)
	}
	q := req.Query
	q.Count, q.Total, q.Sort, q.Include, q.After = 2, false, nil, nil, ""
	c.query = q
	return nil
}

// canonical is the criteria in a fixed form, the lock key of a search.
func (c *criteria) canonical() string {
	return c.typ + "?" + c.values.Encode()
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
	if ts, ok := tx.(karte.TxSearcher); ok && c.query != nil {
		return c.search(ctx, ts)
	}
	if len(c.other) > 0 {
		return nil, karte.Errorf(karte.NotSupported, "conditional criteria %s need search, which this store lacks", c)
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
	if c.query != nil {
		keys = append(keys, c.canonical())
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// search runs the criteria as a search in the transaction: two matches are
// enough to know there are several.
func (c *criteria) search(ctx context.Context, tx karte.TxSearcher) ([]string, error) {
	res, err := tx.Search(ctx, c.query)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(res.Matches))
	for i, m := range res.Matches {
		ids[i] = m.ID
	}
	return ids, nil
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
