package searchparam_test

import (
	"fmt"
	"testing"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirpath"
	"kartehub/internal/searchparam"
)

// TestExpressionsCompile compiles the expression of every built-in param,
// and of every component of a composite, as FHIRPath.
func TestExpressionsCompile(t *testing.T) {
	r := searchparam.Default()
	seen := map[string]bool{}
	check := func(where, src string) {
		if src == "" || seen[src] {
			return
		}
		seen[src] = true
		if _, err := fhirpath.Compile(src); err != nil {
			t.Errorf("%s: %q: %v", where, src, err)
		}
	}
	for _, typ := range append(fhir.ResourceTypes(), "Resource", "DomainResource") {
		for _, p := range r.Params(typ) {
			if p.Base != typ {
				continue // a common param, checked on its own base
			}
			check(typ+" "+p.Code, p.Expression)
			for i, c := range p.Components {
				check(fmt.Sprintf("%s %s component %d", typ, p.Code, i), c.Expression)
			}
		}
	}
	t.Logf("%d distinct expressions compiled", len(seen))
}
