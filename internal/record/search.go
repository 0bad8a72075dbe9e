package record

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/search"
	"kartehub/internal/searchparam"
)

// Found is the answer to a search: the parsed request and one page of
// results.
type Found struct {
	Request *search.Request
	Result  *karte.SearchResult
}

func (s *Service) searcher() (karte.Searcher, error) {
	sr, ok := s.store.(karte.Searcher)
	if !ok || s.search == nil {
		return nil, karte.Errorf(karte.NotSupported, "search is not available on this store")
	}
	return sr, nil
}

// Search searches resources of the given types (one for a type search,
// none or the _type list for a system search) with FHIR search parameters.
// With strict, unknown parameters are errors rather than warnings.
func (s *Service) Search(ctx context.Context, types []string, params url.Values, strict bool) (*Found, error) {
	for _, t := range types {
		if err := checkType(t); err != nil {
			return nil, err
		}
	}
	in := karte.InteractionSearchType
	if len(types) != 1 {
		in = karte.InteractionSearchSystem
	}
	return s.run(ctx, in, types, params, strict, nil)
}

// run parses params and runs the query, with extra clauses added, within
// what the authoriser grants for in.
func (s *Service) run(ctx context.Context, in karte.Interaction, types []string, params url.Values, strict bool, extra []karte.Clause) (*Found, error) {
	sr, err := s.searcher()
	if err != nil {
		return nil, err
	}
	if len(types) == 0 {
		// A search of all types is one of the types the principal may
		// search; the query must keep naming none if there is no limit.
		if types, err = s.allowedTypes(ctx, karte.InteractionSearchType); err != nil {
			return nil, err
		}
	}
	g, err := s.authorizeSearch(ctx, in, types)
	if err != nil {
		return nil, err
	}
	req, err := s.search.Parse(ctx, types, params, strict)
	if err != nil {
		return nil, err
	}
	req.Query.Where = append(extra, req.Query.Where...)
	if err := g.restrict(ctx, req.Query); err != nil {
		return nil, err
	}
	res, err := sr.Search(ctx, req.Query)
	if err != nil {
		return nil, err
	}
	if res.Included, err = s.admitAll(ctx, sr, karte.InteractionSearchType, res.Included); err != nil {
		return nil, err
	}
	return &Found{Request: req, Result: res}, nil
}

// authorizeSearch asks about a search of types (all types if none): every
// type must be allowed. The facility filter is the principal's whatever
// the type, and the restriction applies it per type, so one grant serves
// them all; the most limited one is kept.
func (s *Service) authorizeSearch(ctx context.Context, in karte.Interaction, types []string) (*grant, error) {
	if len(types) == 0 {
		return nil, nil // run narrows a search of all types to those allowed first
	}
	var kept *grant
	for _, t := range types {
		g, err := s.authorize(ctx, karte.Request{Interaction: in, Type: t})
		if err != nil {
			return nil, err
		}
		if g != nil && (kept == nil || len(g.d.Limits) > len(kept.d.Limits)) {
			kept = g
		}
	}
	return kept, nil
}

// SearchCompartment searches resources of typ in the compartment of
// ctype/cid (Patient/123/Observation), as the R4 CompartmentDefinitions
// link them.
func (s *Service) SearchCompartment(ctx context.Context, ctype, cid, typ string, params url.Values, strict bool) (*Found, error) {
	if err := checkType(typ); err != nil {
		return nil, err
	}
	cl, err := compartmentClause(ctype, cid, typ)
	if err != nil {
		return nil, err
	}
	return s.run(ctx, karte.InteractionSearchCompartment, []string{typ}, params, strict, []karte.Clause{cl})
}

// compartmentClause holds for resources of typ in compartment ctype/cid.
func compartmentClause(ctype, cid, typ string) (karte.Clause, error) {
	def, ok := searchparam.Compartment(ctype)
	if !ok {
		return nil, karte.Errorf(karte.NotFound, "%s is not a compartment", ctype)
	}
	var cl karte.Clause
	for _, p := range def.Params(typ) {
		if p == "{def}" {
			cl = append(cl, karte.Condition{Param: "_id", Kind: karte.KindID, String: cid})
			continue
		}
		cl = append(cl, karte.Condition{Param: p, Kind: karte.KindReference, RefType: ctype, RefID: cid})
	}
	if typ == ctype {
		cl = append(cl, karte.Condition{Param: "_id", Kind: karte.KindID, String: cid})
	}
	if len(cl) == 0 {
		return nil, karte.Errorf(karte.Invalid, "%s resources are not in the %s compartment", typ, ctype)
	}
	return cl, nil
}

// Everything returns a page of the resources in the compartment of
// ctype/id (Patient/$everything): the resource itself, then each type of
// the compartment in turn. _type narrows the types, _since keeps what
// changed since, _count sizes the page; the cursor walks the types.
//
// Types the principal may not search are left out rather than failing the
// whole operation: $everything is everything this access may see.
func (s *Service) Everything(ctx context.Context, ctype, id string, params url.Values) (*Found, error) {
	if _, err := s.authorize(ctx, karte.Request{Interaction: karte.InteractionOperation, Type: ctype, Operation: "everything"}); err != nil {
		return nil, err
	}
	if _, err := s.Read(ctx, ctype, id); err != nil {
		return nil, err
	}
	def, ok := searchparam.Compartment(ctype)
	if !ok {
		return nil, karte.Errorf(karte.NotFound, "%s has no $everything", ctype)
	}
	types := everythingTypes(def.Types(), ctype, params.Get("_type"))
	count := search.DefaultCount
	if v := params.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, karte.Errorf(karte.Invalid, "_count %q is not a positive number", v)
		}
		count = min(n, search.MaxCount)
	}
	start, inner, err := everythingCursor(params.Get("_cursor"))
	if err != nil {
		return nil, err
	}
	out := &Found{Request: &search.Request{Query: &karte.Query{Count: count}}, Result: &karte.SearchResult{Total: -1}}
	for i := start; i < len(types) && len(out.Result.Matches) < count; i++ {
		p := url.Values{"_count": {strconv.Itoa(count - len(out.Result.Matches))}}
		if since := params.Get("_since"); since != "" {
			p.Set("_lastUpdated", "ge"+since)
		}
		if i == start && inner != "" {
			p.Set("_cursor", inner)
		}
		f, err := s.SearchCompartment(ctx, ctype, id, types[i], p, false)
		if karte.IsKind(err, karte.Forbidden) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Result.Matches = append(out.Result.Matches, f.Result.Matches...)
		if f.Result.Next != "" {
			out.Result.Next = encodeEverything(i, f.Result.Next)
			return out, nil
		}
		if len(out.Result.Matches) >= count && i+1 < len(types) {
			out.Result.Next = encodeEverything(i+1, "")
		}
	}
	return out, nil
}

// everythingTypes puts the compartment's own type first, and keeps only
// the types of _type if given.
func everythingTypes(all []string, own, only string) []string {
	keep := map[string]bool{}
	for _, t := range strings.Split(only, ",") {
		if t != "" {
			keep[t] = true
		}
	}
	out := []string{own}
	for _, t := range all {
		if t != own && fhir.IsResourceType(t) {
			out = append(out, t)
		}
	}
	if len(keep) == 0 {
		return out
	}
	kept := out[:0]
	for _, t := range out {
		if keep[t] {
			kept = append(kept, t)
		}
	}
	return kept
}

func encodeEverything(typeIndex int, inner string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(typeIndex) + "|" + inner))
}

func everythingCursor(c string) (int, string, error) {
	if c == "" {
		return 0, "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		ti, inner, _ := strings.Cut(string(raw), "|")
		n, err := strconv.Atoi(ti)
		if err == nil && n >= 0 {
			return n, inner, nil
		}
	}
	return 0, "", karte.Errorf(karte.Invalid, "the paging cursor is not valid")
}

// expandValueSet returns the codes of the stored ValueSet with canonical
// URL u: its expansion if it has one, else the concepts its compose lists.
func (s *Service) expandValueSet(ctx context.Context, u string) ([]karte.Coding, error) {
	sr, err := s.searcher()
	if err != nil {
		return nil, err
	}
	u, _, _ = strings.Cut(u, "|")
	res, err := sr.Search(ctx, &karte.Query{Types: []string{"ValueSet"}, Count: 1,
		Where: []karte.Clause{{{Param: "url", Kind: karte.KindURI, String: u}}}})
	if err != nil {
		return nil, err
	}
	if len(res.Matches) == 0 {
		return nil, karte.Errorf(karte.Invalid, "no ValueSet with url %s is stored", u)
	}
	vs, err := fhir.ParseObject(res.Matches[0].Body)
	if err != nil {
		return nil, err
	}
	var codes []karte.Coding
	if exp := vs.Object("expansion"); exp != nil {
		collectContains(exp, &codes)
		return codes, nil
	}
	if compose := vs.Object("compose"); compose != nil {
		inc, _ := compose.Get("include")
		list, _ := inc.([]fhir.Value)
		for _, v := range list {
			if o, ok := v.(*fhir.Object); ok {
				concepts, _ := o.Get("concept")
				cl, _ := concepts.([]fhir.Value)
				for _, c := range cl {
					if co, ok := c.(*fhir.Object); ok {
						codes = append(codes, karte.Coding{System: o.String("system"), Code: co.String("code")})
					}
				}
			}
		}
	}
	return codes, nil
}

func collectContains(o *fhir.Object, codes *[]karte.Coding) {
	v, _ := o.Get("contains")
	list, _ := v.([]fhir.Value)
	for _, x := range list {
		if c, ok := x.(*fhir.Object); ok {
			if c.String("code") != "" {
				*codes = append(*codes, karte.Coding{System: c.String("system"), Code: c.String("code")})
			}
			collectContains(c, codes)
		}
	}
}
