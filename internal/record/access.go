package record

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// WithAuthorizer makes the service ask a, for the principal in the
// request's context (karte.PrincipalFrom), whether it may make each
// interaction, and apply the limits of the decision to every resource the
// interaction reads, returns or writes: the facility filter and the
// patient and query limits of SMART scopes. A service without one trusts
// its caller (the import command, tests): it decides nothing.
func WithAuthorizer(a karte.Authorizer) Option { return func(s *Service) { s.authz = a } }

// grant is an allowed decision that limits what an interaction may touch.
// A nil *grant limits nothing: no authoriser, or a decision without limits.
type grant struct {
	s *Service
	d *karte.Decision
}

// authorize asks the authoriser about r. It returns the grant to apply, or
// a Forbidden error with the authoriser's reason (Unauthorized when there
// is no principal at all).
func (s *Service) authorize(ctx context.Context, r karte.Request) (*grant, error) {
	if s.authz == nil || ctx.Value(ownKey{}) != nil {
		return nil, nil
	}
	p := karte.PrincipalFrom(ctx)
	d := s.authz.Authorize(ctx, p, r)
	if !d.Allow {
		kind := karte.Forbidden
		if p == nil {
			kind = karte.Unauthorized
		}
		return nil, &karte.Error{Kind: kind, Message: d.Reason}
	}
	if d.Facilities.Any && len(d.Limits) == 0 {
		return nil, nil
	}
	return &grant{s: s, d: &d}, nil
}

// patientLinks maps each type of the Patient compartment (but Patient) to
// the reference parameters that tie it to its patients.
var patientLinks = sync.OnceValue(func() map[string][]string {
	def, _ := searchparam.Compartment("Patient")
	links := map[string][]string{}
	for _, t := range def.Types() {
		if t == "Patient" {
			continue
		}
		for _, p := range def.Params(t) {
			if p != "{def}" {
				links[t] = append(links[t], p)
			}
		}
	}
	return links
})

// restrict adds the grant's limits to q, a query of one or more types: the
// facility filter as q.Restrict, the limit of the scope as clauses.
func (g *grant) restrict(ctx context.Context, q *karte.Query) error {
	if g == nil {
		return nil
	}
	if !g.d.Facilities.Any {
		q.Restrict = &karte.Restriction{Facilities: g.d.Facilities.IDs, Links: patientLinks(), SharePermitParam: karte.ShareParamCode}
	}
	if len(g.d.Limits) == 0 {
		return nil
	}
	l, err := g.limit()
	if err != nil {
		return err
	}
	if l.Patient != "" {
		if len(q.Types) != 1 {
			return karte.Errorf(karte.Forbidden, "scope %s limits access to one patient's record: search one resource type at a time", l.Scope)
		}
		if cl, err := compartmentClause("Patient", l.Patient, q.Types[0]); err == nil {
			q.Where = append(q.Where, cl)
		}
	}
	if l.Query != "" {
		params, err := url.ParseQuery(l.Query)
		if err != nil {
			return karte.Errorf(karte.Forbidden, "scope %s has a query that is not valid: %v", l.Scope, err)
		}
		req, err := g.s.search.Parse(ctx, q.Types, params, true)
		if err != nil {
			return karte.Errorf(karte.Forbidden, "scope %s has a query this server cannot apply: %v", l.Scope, err)
		}
		q.Where = append(q.Where, req.Query.Where...)
	}
	return nil
}

// limit returns the one scope limit of the grant. Several scopes that
// limit differently would need a union of searches; they are refused
// rather than half applied.
func (g *grant) limit() (karte.ScopeLimit, error) {
	ls := g.d.Limits
	for _, l := range ls[1:] {
		if l.Patient != ls[0].Patient || l.Query != ls[0].Query {
			scopes := make([]string, len(ls))
			for i, l := range ls {
				scopes[i] = l.Scope
			}
			return karte.ScopeLimit{}, karte.Errorf(karte.Forbidden, "the scopes %s limit this request in different ways; ask for a token with one of them", strings.Join(scopes, ", "))
		}
	}
	return ls[0], nil
}

// denial is the error for a resource outside the grant.
func (g *grant) denial(typ, id string) error {
	var why []string
	if !g.d.Facilities.Any {
		why = append(why, "the patients of "+g.d.Facilities.String())
	}
	for _, l := range g.d.Limits {
		w := "scope " + l.Scope
		if l.Patient != "" {
			w += " (Patient/" + l.Patient + ")"
		}
		why = append(why, w)
	}
	msg := fmt.Sprintf("%s/%s is outside what this access allows: %s", typ, id, strings.Join(why, "; "))
	if g.d.BreakGlassNote != "" {
		msg += "; " + g.d.BreakGlassNote
	}
	return &karte.Error{Kind: karte.Forbidden, Message: msg}
}

// admitted returns nil if the live resource typ/id passes the grant, and
// the denial otherwise. It asks the search index, so that the facility
// filter and the scope queries are decided by the same SQL as searches:
// within a write transaction (sr a karte.TxSearcher) it sees the
// transaction's own writes.
func (g *grant) admitted(ctx context.Context, sr karte.TxSearcher, typ, id string) error {
	if g == nil {
		return nil
	}
	ok, err := g.admittedIDs(ctx, sr, typ, []string{id})
	if err != nil {
		return err
	}
	if len(ok) == 0 {
		return g.denial(typ, id)
	}
	return nil
}

// admittedIDs returns those of ids (of type typ) that pass the grant.
func (g *grant) admittedIDs(ctx context.Context, sr karte.TxSearcher, typ string, ids []string) ([]string, error) {
	if g == nil {
		return ids, nil
	}
	if g.s.search == nil {
		return nil, karte.Errorf(karte.Forbidden, "this access is limited, and the store has no search index to apply the limits")
	}
	cl := make(karte.Clause, len(ids))
	for i, id := range ids {
		cl[i] = karte.Condition{Param: "_id", Kind: karte.KindID, String: id}
	}
	q := &karte.Query{Types: []string{typ}, Where: []karte.Clause{cl}, Count: len(ids)}
	if err := g.restrict(ctx, q); err != nil {
		return nil, err
	}
	res, err := sr.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(res.Matches))
	for i, m := range res.Matches {
		out[i] = m.ID
	}
	return out, nil
}

// PatientsIn returns those of ids (ids of Patients) that filter admits: the
// patients who belong now to one of its facilities, by the rule every
// search under that filter applies (karte.Restriction). It asks no
// authoriser. Handlers of data kept outside the record, such as the audit
// trail, use it to apply a decision's facility filter to the patients
// their data names.
func (s *Service) PatientsIn(ctx context.Context, filter karte.FacilityFilter, ids []string) ([]string, error) {
	if filter.Any || len(ids) == 0 {
		return ids, nil
	}
	sr, err := s.searcher()
	if err != nil {
		return nil, err
	}
	g := &grant{s: s, d: &karte.Decision{Allow: true, Facilities: filter}}
	return g.admittedIDs(ctx, sr, "Patient", ids)
}

// admitAll keeps the resources of list that the principal may see: those
// of types it may read, within each type's grant. It serves _include
// results and type and system history, whose resources were not selected
// by a restricted query of their own type. Deleted versions are kept only
// under a grant that does not limit their type: the index no longer knows
// whose they were.
func (s *Service) admitAll(ctx context.Context, sr karte.TxSearcher, interaction karte.Interaction, list []*karte.Resource) ([]*karte.Resource, error) {
	if s.authz == nil || len(list) == 0 {
		return list, nil
	}
	type verdict struct {
		denied bool
		g      *grant
		ok     map[string]bool
	}
	byType := map[string]*verdict{}
	for _, r := range list {
		if byType[r.Type] != nil {
			continue
		}
		g, err := s.authorize(ctx, karte.Request{Interaction: interaction, Type: r.Type})
		v := &verdict{g: g, denied: err != nil}
		if karte.IsKind(err, karte.Forbidden) || err == nil {
			byType[r.Type] = v
			continue
		}
		return nil, err
	}
	for typ, v := range byType {
		if v.denied || v.g == nil {
			continue
		}
		var ids []string
		for _, r := range list {
			if r.Type == typ && !r.Deleted {
				ids = append(ids, r.ID)
			}
		}
		slices.Sort(ids)
		ok, err := v.g.admittedIDs(ctx, sr, typ, slices.Compact(ids))
		if err != nil {
			return nil, err
		}
		v.ok = map[string]bool{}
		for _, id := range ok {
			v.ok[id] = true
		}
	}
	kept := list[:0:0]
	for _, r := range list {
		v := byType[r.Type]
		if v.denied || (v.g != nil && !v.ok[r.ID]) {
			continue
		}
		kept = append(kept, r)
	}
	return kept, nil
}

type ownKey struct{}

// own returns ctx for the service's own work, which no principal asks
// for and no authoriser decides: loading the stored SearchParameters at
// start-up. Only this package can make such a context.
func own(ctx context.Context) context.Context { return context.WithValue(ctx, ownKey{}, true) }

// allowedTypes returns the resource types the principal may make in on,
// for a search or history over all types: nil if every type is allowed
// without limits (no authoriser, or an unlimited principal), so that the
// caller need not narrow anything.
func (s *Service) allowedTypes(ctx context.Context, in karte.Interaction) ([]string, error) {
	if s.authz == nil || ctx.Value(ownKey{}) != nil {
		return nil, nil
	}
	var types []string
	var first error
	limited := false
	for _, t := range fhir.ResourceTypes() {
		g, err := s.authorize(ctx, karte.Request{Interaction: in, Type: t})
		switch {
		case err == nil:
			types = append(types, t)
			limited = limited || g != nil
		case !karte.IsKind(err, karte.Forbidden):
			return nil, err
		case first == nil:
			first = err
		}
	}
	switch {
	case len(types) == 0:
		return nil, first
	case len(types) == len(fhir.ResourceTypes()) && !limited:
		return nil, nil
	}
	return types, nil
}

type admissionKey struct{}

// withGrant returns ctx carrying the grant that the writes made under it
// must satisfy; put and remove check it inside the transaction.
func withGrant(ctx context.Context, g *grant) context.Context {
	return context.WithValue(ctx, admissionKey{}, g)
}

func grantFrom(ctx context.Context) *grant {
	g, _ := ctx.Value(admissionKey{}).(*grant)
	return g
}

// admitInTx checks, inside a write transaction, that typ/id passes the
// grant of ctx: before a write, the version replaced; after, the version
// written. A store without search in its transactions cannot decide a
// limited grant, and refuses.
func admitInTx(ctx context.Context, tx karte.Tx, typ, id string) error {
	g := grantFrom(ctx)
	if g == nil {
		return nil
	}
	ts, ok := tx.(karte.TxSearcher)
	if !ok {
		return karte.Errorf(karte.Forbidden, "this access is limited, and the store cannot search inside a write to apply the limits")
	}
	return g.admitted(ctx, ts, typ, id)
}

// authorizeWrite asks the authoriser about a write interaction on typ, and
// returns ctx carrying the grant that the transaction then checks.
func (s *Service) authorizeWrite(ctx context.Context, in karte.Interaction, typ string) (context.Context, error) {
	if err := checkType(typ); err != nil {
		return ctx, err
	}
	g, err := s.authorize(ctx, karte.Request{Interaction: in, Type: typ})
	if err != nil {
		return ctx, err
	}
	return withGrant(ctx, g), nil
}
