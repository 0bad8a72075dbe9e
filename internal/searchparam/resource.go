package searchparam

import (
	"fmt"
	"slices"
	"strings"

	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam/internal/expr"
)

// comparatorCodes and modifierCodes are the R4 value sets
// search-comparator and search-modifier-code.
var (
	comparatorCodes = []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}
	modifierCodes   = []string{"missing", "exact", "contains", "not", "text", "in", "not-in", "below", "above", "type", "identifier", "ofType"}
)

// FromResource returns the parameters that the SearchParameter resource res
// defines, one per base, sorted by base, ready for Registry.Add. Each
// Param's expression is the part of the resource's expression for its base.
// Components of a composite are resolved by Add.
//
// FromResource checks what a registry needs: a url; a code usable in search
// URLs; a known type; bases that are resource types (or Resource or
// DomainResource); targets that are resource types; an expression with a
// part for every base, unless the type is special or composite; components
// for a composite; known comparators and modifiers. It does not check the
// FHIRPath syntax of the expression. Every problem it finds is an Issue of
// the returned *karte.Error, whose kind is Unprocessable.
func FromResource(res *fhir.Object) ([]*Param, error) {
	v := &spReader{res: res}
	if rt := res.String("resourceType"); rt != "SearchParameter" {
		v.issue("resourceType", "invalid", "resourceType is %q, not SearchParameter", rt)
		return nil, v.err()
	}
	url := v.str("url", true)
	code := v.str("code", true)
	if code != "" && !validCode(code) {
		v.issue("code", "value", "code %q is not a valid search parameter name (letters, digits, '-' and '_', not starting with a digit or '-')", code)
	}
	name := v.str("name", false)
	if name == "" {
		name = code
	}
	typ := Type(0)
	if s := v.str("type", true); s != "" {
		var ok bool
		if typ, ok = ParseType(s); !ok {
			v.issue("type", "code-invalid", "type %q is not a search parameter type", s)
		}
	}
	bases := v.strs("base", true)
	for i, b := range bases {
		if b != "Resource" && b != "DomainResource" && !fhir.IsResourceType(b) {
			v.issue(fmt.Sprintf("base[%d]", i), "code-invalid", "base %q is not a resource type", b)
			bases[i] = "" // no more issues about it
		}
	}
	expression := v.str("expression", false)
	if expression == "" && typ != 0 && typ != Special && typ != Composite {
		v.issue("expression", "required", "a %s search parameter needs an expression", typ)
	}
	targets := v.strs("target", false)
	for i, t := range targets {
		if !fhir.IsResourceType(t) {
			v.issue(fmt.Sprintf("target[%d]", i), "code-invalid", "target %q is not a resource type", t)
		}
	}
	comparators := v.strs("comparator", false)
	for i, c := range comparators {
		if !slices.Contains(comparatorCodes, c) {
			v.issue(fmt.Sprintf("comparator[%d]", i), "code-invalid", "%q is not a search comparator", c)
		}
	}
	modifiers := v.strs("modifier", false)
	for i, m := range modifiers {
		if !slices.Contains(modifierCodes, m) {
			v.issue(fmt.Sprintf("modifier[%d]", i), "code-invalid", "%q is not a search modifier", m)
		}
	}
	chains := v.strs("chain", false)
	components := v.components()
	switch {
	case typ == Composite && len(components) < 2:
		v.issue("component", "required", "a composite search parameter needs at least two components")
	case typ != Composite && typ != 0 && len(components) > 0:
		v.issue("component", "invalid", "only a composite search parameter has components, not a %s one", typ)
	}
	multipleOr, multipleAnd := v.boolean("multipleOr"), v.boolean("multipleAnd")

	var ps []*Param
	for i, base := range bases {
		if base == "" {
			continue
		}
		p := &Param{
			URL: url, Code: code, Name: name, Type: typ, Base: base,
			Expression: expression,
			Modifiers:  modifiers, Comparators: comparators, Chains: chains,
			Components: components,
			MultipleOr: multipleOr, MultipleAnd: multipleAnd,
		}
		if expression != "" && !p.IsCommon() {
			p.Expression, _ = expr.ForBase(expression, base)
			if p.Expression == "" {
				v.issue(fmt.Sprintf("base[%d]", i), "invalid", "no part of the expression applies to %s", base)
			}
		}
		p.Targets, _ = expr.NarrowTargets(targets, p.Expression)
		ps = append(ps, p)
	}
	if len(v.issues) > 0 {
		return nil, v.err()
	}
	slices.SortFunc(ps, func(a, b *Param) int { return strings.Compare(a.Base, b.Base) })
	for i := 1; i < len(ps); i++ {
		if ps[i].Base == ps[i-1].Base {
			v.issue("base", "invalid", "base %s is given twice", ps[i].Base)
			return nil, v.err()
		}
	}
	return ps, nil
}

// spReader reads the members of a SearchParameter, collecting issues.
type spReader struct {
	res    *fhir.Object
	issues []karte.Issue
}

func (v *spReader) issue(path, code, format string, args ...any) {
	v.issues = append(v.issues, karte.Issue{
		Severity:    "error",
		Code:        code,
		Expression:  "SearchParameter." + path,
		Diagnostics: fmt.Sprintf(format, args...),
	})
}

func (v *spReader) err() error {
	msg := "invalid SearchParameter: " + v.issues[0].Diagnostics
	if n := len(v.issues) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return &karte.Error{Kind: karte.Unprocessable, Message: msg, Issues: v.issues}
}

// str returns the string member key, "" if absent or not a string.
func (v *spReader) str(key string, required bool) string {
	val, ok := v.res.Get(key)
	if !ok || val == nil {
		if required {
			v.issue(key, "required", "%s is required", key)
		}
		return ""
	}
	s, ok := val.(string)
	if !ok {
		v.issue(key, "structure", "%s must be a string", key)
		return ""
	}
	if s == "" && required {
		v.issue(key, "required", "%s is required", key)
	}
	return s
}

// strs returns the array of strings key.
func (v *spReader) strs(key string, required bool) []string {
	val, ok := v.res.Get(key)
	if !ok || val == nil {
		if required {
			v.issue(key, "required", "%s is required", key)
		}
		return nil
	}
	arr, ok := val.([]fhir.Value)
	if !ok {
		v.issue(key, "structure", "%s must be an array", key)
		return nil
	}
	if len(arr) == 0 && required {
		v.issue(key, "required", "%s is required", key)
	}
	ss := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok || s == "" {
			v.issue(fmt.Sprintf("%s[%d]", key, i), "structure", "%s[%d] must be a non-empty string", key, i)
			continue
		}
		ss = append(ss, s)
	}
	return ss
}

// boolean returns the boolean member key, true if absent.
func (v *spReader) boolean(key string) bool {
	val, ok := v.res.Get(key)
	if !ok || val == nil {
		return true
	}
	b, ok := val.(bool)
	if !ok {
		v.issue(key, "structure", "%s must be a boolean", key)
		return true
	}
	return b
}

// components returns the component members.
func (v *spReader) components() []Component {
	val, ok := v.res.Get("component")
	if !ok || val == nil {
		return nil
	}
	arr, ok := val.([]fhir.Value)
	if !ok {
		v.issue("component", "structure", "component must be an array")
		return nil
	}
	var cs []Component
	for i, e := range arr {
		obj, ok := e.(*fhir.Object)
		if !ok {
			v.issue(fmt.Sprintf("component[%d]", i), "structure", "component[%d] must be an object", i)
			continue
		}
		c := Component{Definition: obj.String("definition"), Expression: obj.String("expression")}
		if c.Definition == "" {
			v.issue(fmt.Sprintf("component[%d].definition", i), "required", "component[%d].definition is required", i)
		}
		if c.Expression == "" {
			v.issue(fmt.Sprintf("component[%d].expression", i), "required", "component[%d].expression is required", i)
		}
		cs = append(cs, c)
	}
	return cs
}
