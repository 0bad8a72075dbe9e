package search

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// Page sizes of a search.
const (
	DefaultCount = 50
	MaxCount     = 1000
)

// Request is a parsed search request: the query for the store and how to
// shape the answer.
type Request struct {
	Query     *karte.Query
	Summary   string   // _summary: "", true, text, data, count, false
	Elements  []string // _elements
	Contained string   // _contained: false (default), true, both
	// Warnings list the parameters ignored in lenient handling.
	Warnings []karte.Issue
}

// resultParams shape the answer rather than select resources.
var resultParams = map[string]bool{
	"_sort": true, "_count": true, "_include": true, "_revinclude": true, "_total": true,
	"_summary": true, "_elements": true, "_contained": true, "_containedType": true,
	"_format": true, "_pretty": true, "_cursor": true, "_explain": true,
}

// Parse turns the parameters of a search on types (one for a type-level
// search, none for all) into a Request. With strict, an unknown or
// unsupported parameter is an error; otherwise it is ignored with a warning.
func (e *Engine) Parse(ctx context.Context, types []string, params url.Values, strict bool) (*Request, error) {
	req := &Request{Query: &karte.Query{Types: types, Count: DefaultCount}}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic queries for deterministic plans
	for _, name := range names {
		for _, value := range params[name] {
			var err error
			if resultParams[strings.SplitN(name, ":", 2)[0]] {
				err = e.result(req, name, value)
			} else {
				err = e.filter(ctx, req.Query, name, value)
			}
			if err == nil {
				continue
			}
			if strict || !karte.IsKind(err, karte.NotSupported) && !isUnknown(err) {
				return nil, err
			}
			req.Warnings = append(req.Warnings, karte.Issue{Severity: "warning", Code: "not-supported",
				Diagnostics: "ignored: " + err.Error()})
		}
	}
	return req, nil
}

// unknownParam marks an unknown parameter, which lenient handling ignores.
type unknownParam struct{ err *karte.Error }

func (u *unknownParam) Error() string { return u.err.Error() }
func (u *unknownParam) Unwrap() error { return u.err }

func isUnknown(err error) bool {
	var u *unknownParam
	return errors.As(err, &u)
}

func unknown(format string, args ...any) error {
	return &unknownParam{karte.Errorf(karte.Invalid, format, args...)}
}

// filter adds the clause of one name=value pair to q.
func (e *Engine) filter(ctx context.Context, q *karte.Query, name, value string) error {
	if strings.HasPrefix(name, "_has:") {
		c, err := e.has(ctx, q, name, value)
		if err != nil {
			return err
		}
		q.Where = append(q.Where, karte.Clause{*c})
		return nil
	}
	if name == "_type" {
		return nil // read by the caller of a system search
	}
	cl, err := e.clause(ctx, q.Types, name, value)
	if err != nil {
		return err
	}
	q.Where = append(q.Where, cl)
	return nil
}

// clause parses name=value for resources of types: the comma-separated
// values are alternatives.
func (e *Engine) clause(ctx context.Context, types []string, name, value string) (karte.Clause, error) {
	// The chain is all after the first dot: in encounter.subject:Patient.name
	// the type modifier belongs to the second link, not to encounter.
	head, chain, _ := strings.Cut(name, ".")
	code, modifier, _ := strings.Cut(head, ":")
	p, err := e.param(types, code)
	if err != nil {
		return nil, err
	}
	if chain != "" {
		c, err := e.chain(ctx, p, modifier, chain, value)
		if err != nil {
			return nil, err
		}
		return karte.Clause{*c}, nil
	}
	var cl karte.Clause
	for _, v := range splitValues(value) {
		c, err := e.condition(ctx, p, modifier, v)
		if err != nil {
			return nil, karte.Errorf(karte.Invalid, "%s=%s: %w", name, value, err)
		}
		cl = append(cl, *c)
	}
	if len(cl) == 0 {
		return nil, karte.Errorf(karte.Invalid, "%s has no value", name)
	}
	return cl, nil
}

// param looks code up for the types searched; a system search takes the
// common parameters only.
func (e *Engine) param(types []string, code string) (*searchparam.Param, error) {
	switch code {
	case "_id", "_lastUpdated":
		return &searchparam.Param{Code: code}, nil
	}
	typ := "Resource"
	if len(types) == 1 {
		typ = types[0]
	}
	p, ok := e.reg.Lookup(typ, code)
	if !ok && len(types) > 1 {
		p, ok = e.reg.Lookup(types[0], code)
	}
	if !ok {
		return nil, unknown("unknown search parameter %q for %s", code, typ)
	}
	if p.Expression == "" && p.Code != "_list" {
		return nil, karte.Errorf(karte.NotSupported, "search parameter %s is not supported", code)
	}
	if e.Pending != nil && p.URL != "" && e.Pending(p.URL) {
		return nil, karte.Errorf(karte.NotSupported, "search parameter %s is being indexed; it can be searched when the reindex job has finished", code)
	}
	return p, nil
}

// splitValues splits on commas not escaped by a backslash, and unescapes.
func splitValues(v string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case v[i] == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	out = append(out, cur.String())
	kept := out[:0]
	for _, s := range out {
		if s != "" {
			kept = append(kept, s)
		}
	}
	return kept
}

// chain parses param[:Type].chain=value: references to resources that
// match chain=value.
func (e *Engine) chain(ctx context.Context, p *searchparam.Param, typeModifier, chain, value string) (*karte.Condition, error) {
	if p.Type != searchparam.Reference {
		return nil, karte.Errorf(karte.Invalid, "%s is not a reference parameter and cannot be chained", p.Code)
	}
	targets := p.Targets
	if typeModifier != "" {
		if !fhir.IsResourceType(typeModifier) {
			return nil, karte.Errorf(karte.Invalid, "%s:%s: unknown resource type", p.Code, typeModifier)
		}
		targets = []string{typeModifier}
	}
	next, _, _ := strings.Cut(chain, ".")
	next, _, _ = strings.Cut(next, ":")
	var types []string
	for _, t := range targets {
		if _, ok := e.reg.Lookup(t, next); ok || next == "_id" || next == "_lastUpdated" {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil, karte.Errorf(karte.Invalid, "%s.%s: no target type of %s has the parameter %s", p.Code, chain, p.Code, next)
	}
	cl, err := e.clause(ctx, types, chain, value)
	if err != nil {
		return nil, err
	}
	sub := &karte.Query{Types: types, Where: []karte.Clause{cl}}
	return &karte.Condition{Param: p.Code, Kind: karte.KindReference, Chain: sub}, nil
}

// has parses _has:Type:param:rest=value (rest may be another _has).
func (e *Engine) has(ctx context.Context, q *karte.Query, name, value string) (*karte.Condition, error) {
	parts := strings.SplitN(name, ":", 4)
	if len(parts) != 4 || !fhir.IsResourceType(parts[1]) {
		return nil, karte.Errorf(karte.Invalid, "%s: want _has:Type:parameter:criterion", name)
	}
	typ, ref, rest := parts[1], parts[2], parts[3]
	p, ok := e.reg.Lookup(typ, ref)
	if !ok || p.Type != searchparam.Reference {
		return nil, karte.Errorf(karte.Invalid, "%s: %s is not a reference parameter of %s", name, ref, typ)
	}
	sub := &karte.Query{Types: []string{typ}}
	if err := e.filter(ctx, sub, rest, value); err != nil {
		return nil, err
	}
	return &karte.Condition{Param: "_has", Kind: karte.KindReference, Has: &karte.Has{Type: typ, Param: ref, Query: sub}}, nil
}

// result applies one of the parameters that shape the answer.
func (e *Engine) result(req *Request, name, value string) error {
	q := req.Query
	base, modifier, _ := strings.Cut(name, ":")
	switch base {
	case "_count":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return karte.Errorf(karte.Invalid, "_count %q is not a non-negative number", value)
		}
		q.Count = min(n, MaxCount)
	case "_cursor":
		q.After = value
	case "_total":
		switch value {
		case "none":
			q.Total = false
		case "estimate", "accurate":
			q.Total = true
		default:
			return karte.Errorf(karte.Invalid, "_total must be none, estimate or accurate")
		}
	case "_summary":
		switch value {
		case "count":
			q.Count, q.Total = 0, true
		case "true", "text", "data", "false":
		default:
			return karte.Errorf(karte.Invalid, "_summary must be true, text, data, count or false")
		}
		req.Summary = value
	case "_elements":
		req.Elements = append(req.Elements, strings.Split(value, ",")...)
	case "_contained":
		// Contained resources are not indexed on their own, so only the
		// default, searching the containers, can be answered truthfully.
		if value != "false" {
			return karte.Errorf(karte.NotSupported, "_contained=%s is not supported: contained resources are not searched on their own", value)
		}
		req.Contained = value
	case "_sort":
		return e.sort(q, value)
	case "_include", "_revinclude":
		return e.include(q, base == "_revinclude", modifier == "iterate" || modifier == "recurse", value)
	case "_explain":
		q.Explain = value == "true"
	}
	return nil
}

func (e *Engine) sort(q *karte.Query, value string) error {
	for _, key := range strings.Split(value, ",") {
		desc := strings.HasPrefix(key, "-")
		key = strings.TrimPrefix(key, "-")
		k := karte.SortKey{Param: key, Descending: desc}
		switch key {
		case "_id":
			k.Kind = karte.KindID
		case "_lastUpdated":
			k.Kind = karte.KindLastUpdated
		default:
			p, err := e.param(q.Types, key)
			if err != nil {
				return err
			}
			k.Kind = kindOf(p.Type)
			if k.Kind == karte.KindComposite {
				return karte.Errorf(karte.Invalid, "_sort on composite parameter %s is not possible", key)
			}
		}
		q.Sort = append(q.Sort, k)
	}
	return nil
}

func (e *Engine) include(q *karte.Query, reverse, iterate bool, value string) error {
	parts := strings.Split(value, ":")
	if len(parts) < 2 || len(parts) > 3 || !fhir.IsResourceType(parts[0]) {
		return karte.Errorf(karte.Invalid, "_include %q: want Type:parameter[:targetType]", value)
	}
	inc := karte.Include{Type: parts[0], Param: parts[1], Reverse: reverse, Iterate: iterate}
	if len(parts) == 3 {
		inc.TargetType = parts[2]
	}
	p, ok := e.reg.Lookup(inc.Type, inc.Param)
	if !ok || p.Type != searchparam.Reference {
		return karte.Errorf(karte.Invalid, "_include %q: %s is not a reference parameter of %s", value, inc.Param, inc.Type)
	}
	q.Include = append(q.Include, inc)
	return nil
}
