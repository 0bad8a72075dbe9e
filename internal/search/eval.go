package search

import (
	"strconv"

	"kartehub/internal/fhir"
	"kartehub/internal/fhirpath"
)

// item is one value an expression yields, with its FHIR type name.
type item struct {
	value fhir.Value
	typ   string
	it    fhirpath.Item // as the engine gave it, to evaluate components on
}

// evaluator runs one compiled FHIRPath expression on a resource, or, for
// the components of a composite, on one value found in it.
type evaluator interface {
	eval(res *fhir.Object, focus *item) ([]item, error)
}

type pathEvaluator struct {
	expr    *fhirpath.Expression
	onFocus bool // the expression reads %focus: a component of a composite
}

func newEvaluator(src string) (evaluator, error) {
	if src == "" {
		return nil, nil
	}
	e, err := fhirpath.Compile(src)
	if err != nil {
		return nil, err
	}
	return pathEvaluator{expr: e}, nil
}

// newComponentEvaluator compiles a component expression, which runs on
// each value of its composite's expression, typed as the engine found it.
func newComponentEvaluator(src string) (evaluator, error) {
	e, err := fhirpath.Compile(src)
	if err != nil {
		return nil, err
	}
	return pathEvaluator{expr: e, onFocus: true}, nil
}

func (p pathEvaluator) eval(res *fhir.Object, focus *item) ([]item, error) {
	var col fhirpath.Collection
	var err error
	if p.onFocus && focus != nil {
		col, err = p.expr.EvaluateFocus(res, fhirpath.Collection{focus.it}, nil)
	} else {
		col, err = p.expr.Evaluate(res, nil)
	}
	if err != nil {
		return nil, err
	}
	out := make([]item, len(col))
	for i, it := range col {
		out[i] = item{value: it.Value(), typ: it.Type(), it: it}
	}
	return out, nil
}

func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
