package search

import (
	"strings"
	"sync"

	"kartehub/internal/fhir"
	"kartehub/internal/fold"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// compiled caches the compiled expression of each parameter: registry
// snapshots share their Params, so the pointer is a stable key.
var compiled sync.Map // *searchparam.Param -> *compiledParam

type compiledParam struct {
	expr       evaluator
	components []evaluator
	err        error
}

func compile(p *searchparam.Param) *compiledParam {
	if c, ok := compiled.Load(p); ok {
		return c.(*compiledParam)
	}
	c := &compiledParam{}
	c.expr, c.err = newEvaluator(p.Expression)
	for _, comp := range p.Components {
		ev, err := newComponentEvaluator(comp.Expression)
		if err != nil && c.err == nil {
			c.err = err
		}
		c.components = append(c.components, ev)
	}
	actual, _ := compiled.LoadOrStore(p, c)
	return actual.(*compiledParam)
}

// Index extracts the values of every search parameter of the resource's
// type. A parameter whose expression fails on this resource is skipped: a
// resource that validates is never refused for the index's sake.
func (e *Engine) Index(res *fhir.Object) *karte.Index {
	typ := res.String("resourceType")
	ix := &karte.Index{Identifiers: Identifiers(res)}
	for _, p := range e.reg.Params(typ) {
		if p.Expression == "" || p.Code == "_id" || p.Code == "_lastUpdated" {
			continue
		}
		cp := compile(p)
		if cp.err != nil || cp.expr == nil {
			continue
		}
		items, err := cp.expr.eval(res, nil)
		if err != nil {
			continue
		}
		for _, it := range items {
			addItem(ix, p, cp, it, res)
		}
	}
	return ix
}

// Identifiers are the resource's own identifiers, which the store keeps
// for conditional interactions even without a search index.
func Identifiers(res *fhir.Object) []karte.Identifier {
	v, _ := res.Get("identifier")
	list, _ := v.([]fhir.Value)
	var out []karte.Identifier
	for _, x := range list {
		if o, ok := x.(*fhir.Object); ok && o.String("value") != "" {
			out = append(out, karte.Identifier{System: o.String("system"), Value: o.String("value")})
		}
	}
	return out
}

func addItem(ix *karte.Index, p *searchparam.Param, cp *compiledParam, it item, res *fhir.Object) {
	switch p.Type {
	case searchparam.String:
		for _, s := range stringsOf(it) {
			ix.Strings = append(ix.Strings, karte.StringEntry{Param: p.Code, Value: fold.String(s), Exact: s})
		}
	case searchparam.Token:
		addTokens(ix, p.Code, it)
	case searchparam.Reference:
		addReference(ix, p.Code, it)
	case searchparam.Date:
		if lo, hi, ok := dateOf(it); ok {
			ix.Dates = append(ix.Dates, karte.DateEntry{Param: p.Code, Lo: lo, Hi: hi})
		}
	case searchparam.Number, searchparam.Quantity:
		if n, ok := numberOf(p.Code, it); ok {
			ix.Numbers = append(ix.Numbers, n)
		}
	case searchparam.URI:
		if s, ok := it.value.(string); ok {
			ix.URIs = append(ix.URIs, karte.URIEntry{Param: p.Code, URI: s})
		}
	case searchparam.Composite:
		addComposites(ix, p, cp, it, res)
	}
}

// stringsOf gives the parts of a value that string search matches.
func stringsOf(it item) []string {
	switch v := it.value.(type) {
	case string:
		return []string{v}
	case *fhir.Object:
		var keys []string
		switch it.typ {
		case "HumanName":
			keys = []string{"text", "family", "given", "prefix", "suffix"}
		case "Address":
			keys = []string{"text", "line", "city", "district", "state", "postalCode", "country"}
		default:
			return nil
		}
		var out []string
		for _, k := range keys {
			out = append(out, textValues(v, k)...)
		}
		return out
	}
	return nil
}

// textValues returns the string or strings of member key.
func textValues(o *fhir.Object, key string) []string {
	v, _ := o.Get(key)
	switch v := v.(type) {
	case string:
		return []string{v}
	case []fhir.Value:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func addTokens(ix *karte.Index, param string, it item) {
	tok := func(system, code, text string) {
		ix.Tokens = append(ix.Tokens, karte.TokenEntry{Param: param, System: system, Code: code, Text: fold.String(text)})
	}
	switch v := it.value.(type) {
	case string:
		tok("", v, "")
	case bool:
		if v {
			tok("", "true", "")
		} else {
			tok("", "false", "")
		}
	case *fhir.Object:
		switch it.typ {
		case "Coding":
			tok(v.String("system"), v.String("code"), v.String("display"))
		case "CodeableConcept":
			codings, _ := v.Get("coding")
			list, _ := codings.([]fhir.Value)
			text := v.String("text")
			textKept := text == ""
			var first *fhir.Object
			for _, c := range list {
				if co, ok := c.(*fhir.Object); ok {
					if first == nil {
						first = co
					}
					display := co.String("display")
					textKept = textKept || display == "" || display == text
					tok(co.String("system"), co.String("code"), firstOf(display, text))
				}
			}
			switch {
			case first == nil && text != "":
				tok("", "", text)
			case !textKept:
				// :text matches the concept's text as well as the
				// codings' displays: one more row for it, with the
				// first coding's code so that code searches, :not
				// and _sort see nothing new.
				tok(first.String("system"), first.String("code"), text)
			}
		case "Identifier":
			tok(v.String("system"), v.String("value"), typeText(v))
			addOfType(ix, param, v)
		case "ContactPoint":
			tok(v.String("system"), v.String("value"), "")
		}
	}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func typeText(ident *fhir.Object) string {
	if t := ident.Object("type"); t != nil {
		return t.String("text")
	}
	return ""
}

// addOfType indexes an identifier with its type, for :of-type.
func addOfType(ix *karte.Index, param string, ident *fhir.Object) {
	t := ident.Object("type")
	if t == nil {
		return
	}
	codings, _ := t.Get("coding")
	list, _ := codings.([]fhir.Value)
	for _, c := range list {
		if co, ok := c.(*fhir.Object); ok && co.String("code") != "" {
			ix.Tokens = append(ix.Tokens, karte.TokenEntry{Param: param + ":of-type",
				System: co.String("system") + "|" + co.String("code"), Code: ident.String("value")})
		}
	}
}

func addReference(ix *karte.Index, param string, it item) {
	switch v := it.value.(type) {
	case string: // canonical or uri
		url, _, _ := strings.Cut(v, "|")
		ix.References = append(ix.References, karte.ReferenceEntry{Param: param, URL: url})
	case *fhir.Object:
		if ref := v.String("reference"); ref != "" {
			ix.References = append(ix.References, referenceEntry(param, ref))
		} else if v.Object("identifier") != nil {
			// A reference by identifier only: a row that matches no
			// target, so that :missing sees the element present.
			ix.References = append(ix.References, karte.ReferenceEntry{Param: param})
		}
		if ident := v.Object("identifier"); ident != nil && ident.String("value") != "" {
			ix.Tokens = append(ix.Tokens, karte.TokenEntry{Param: param + ":identifier",
				System: ident.String("system"), Code: ident.String("value")})
		}
	}
}

// referenceEntry reads a literal reference: relative "Type/id", absolute
// URL (also kept as Type/id when it ends in one), or anything else as URL.
func referenceEntry(param, ref string) karte.ReferenceEntry {
	e := karte.ReferenceEntry{Param: param}
	if strings.HasPrefix(ref, "#") {
		e.URL = ref
		return e
	}
	path, _, _ := strings.Cut(ref, "/_history/")
	if typ, id, ok := strings.Cut(path, "/"); ok && fhir.IsResourceType(typ) && !strings.Contains(id, "/") {
		e.Type, e.ID = typ, id
		return e
	}
	e.URL = ref // absolute: another server's, even if it ends in Type/id
	return e
}

// dateOf gives the period of a date, dateTime, instant or Period.
func dateOf(it item) (lo, hi int64, ok bool) {
	switch v := it.value.(type) {
	case string:
		start, end, err := DateRange(v)
		if err != nil {
			return 0, 0, false
		}
		return start.UnixMilli(), end.UnixMilli(), true
	case *fhir.Object:
		if it.typ != "Period" {
			return 0, 0, false
		}
		lo, hi = minTime, maxTime
		if s := v.String("start"); s != "" {
			if start, _, err := DateRange(s); err == nil {
				lo = start.UnixMilli()
			}
		}
		if s := v.String("end"); s != "" {
			if _, end, err := DateRange(s); err == nil {
				hi = end.UnixMilli()
			}
		}
		return lo, hi, lo != minTime || hi != maxTime
	}
	return 0, 0, false
}

// The ends of an open period.
const (
	minTime = -1 << 62
	maxTime = 1 << 62
)

// numberOf reads a number or a quantity.
func numberOf(param string, it item) (karte.NumberEntry, bool) {
	n := karte.NumberEntry{Param: param}
	switch v := it.value.(type) {
	case fhir.Number:
		f, err := parseFloat(string(v))
		n.Value = f
		return n, err == nil
	case *fhir.Object:
		num, ok := v.Get("value")
		lit, isNum := num.(fhir.Number)
		if !ok || !isNum {
			return n, false
		}
		f, err := parseFloat(string(lit))
		if err != nil {
			return n, false
		}
		n.Value, n.System, n.Code, n.Unit = f, v.String("system"), v.String("code"), v.String("unit")
		if it.typ == "Money" {
			n.Code = v.String("currency")
		}
		if base, factor, ok := canonicalUnit(n.Code); ok && (n.System == ucum || n.System == "") {
			n.CanonicalValue, n.CanonicalCode = f*factor, base
		}
		return n, true
	}
	return n, false
}
