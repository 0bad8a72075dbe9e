package search

import (
	"kartehub/internal/fhir"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// addComposites indexes the combinations of a composite's two components
// found on one value of its expression (one Observation.component, say), so
// that both parts of a criterion must hold on the same element.
func addComposites(ix *karte.Index, p *searchparam.Param, cp *compiledParam, it item, res *fhir.Object) {
	if len(cp.components) != 2 || cp.components[0] == nil || cp.components[1] == nil || p.Components[1].Param == nil {
		return
	}
	firsts, err := cp.components[0].eval(res, &it)
	if err != nil {
		return
	}
	seconds, err := cp.components[1].eval(res, &it)
	if err != nil {
		return
	}
	var a karte.Index
	for _, f := range firsts {
		addTokens(&a, "", f)
		addReference(&a, "", f)
	}
	second := p.Components[1].Param
	var b karte.Index
	for _, s := range seconds {
		addItem(&b, second, &compiledParam{}, s, res)
	}
	for _, t := range a.Tokens {
		for _, e := range combine(p.Code, t.System, t.Code, &b) {
			ix.Composites = append(ix.Composites, e)
		}
	}
	for _, r := range a.References {
		for _, e := range combine(p.Code, r.Type, r.ID, &b) {
			ix.Composites = append(ix.Composites, e)
		}
	}
}

// combine pairs a first component with every value of the second.
func combine(param, system1, code1 string, b *karte.Index) []karte.CompositeEntry {
	base := karte.CompositeEntry{Param: param, System1: system1, Code1: code1}
	var out []karte.CompositeEntry
	for _, t := range b.Tokens {
		e := base
		e.System2, e.Code2 = t.System, t.Code
		out = append(out, e)
	}
	for _, n := range b.Numbers {
		e := base
		e.Number2, e.HasNumber2 = n.Value, true
		e.System2, e.Code2 = n.System, n.Code
		e.CanonicalNumber2, e.CanonicalCode2 = n.CanonicalValue, n.CanonicalCode
		out = append(out, e)
	}
	for _, d := range b.Dates {
		e := base
		e.Lo2, e.Hi2 = d.Lo, d.Hi
		out = append(out, e)
	}
	for _, s := range b.Strings {
		e := base
		e.String2 = s.Value
		out = append(out, e)
	}
	return out
}
