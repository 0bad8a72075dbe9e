package fhirpath

import (
	"math/big"
	"strings"

	"kartehub/internal/fhir"
)

// quantity is a parsed System.Quantity.
type quantity struct {
	v    decimal
	unit string // a UCUM code ("1" for none) or a calendar duration keyword
}

const ucumSystem = "http://unitsofmeasure.org"

func (q quantity) export() Quantity { return Quantity{Value: fhir.Number(q.v.String()), Unit: q.unit} }

// String formats q as a FHIRPath quantity literal: 1 'wk', 4 days.
func (q quantity) String() string {
	if isCalendarKeyword(q.unit) {
		return q.v.String() + " " + q.unit
	}
	return q.v.String() + " '" + q.unit + "'"
}

// quantityOf converts an item to a quantity: a System.Quantity, a FHIR
// Quantity (or Age, Duration, ...) whose unit is its UCUM code, or its
// unit text when it has none, or a number, whose unit is '1'.
func quantityOf(it Item) (quantity, bool) {
	switch it.kind() {
	case sysQuantity:
		switch v := it.v.(type) {
		case Quantity:
			d, ok := parseDecimal(string(v.Value))
			return quantity{d, v.Unit}, ok
		case *fhir.Object:
			return fhirQuantity(v)
		}
	case sysInteger, sysDecimal:
		d, ok := decimalOf(it)
		return quantity{d, "1"}, ok
	}
	return quantity{}, false
}

// fhirQuantity converts a FHIR Quantity object.
func fhirQuantity(obj *fhir.Object) (quantity, bool) {
	n, ok := obj.Get("value")
	if !ok {
		return quantity{}, false
	}
	num, ok := n.(fhir.Number)
	if !ok {
		return quantity{}, false
	}
	d, ok := parseDecimal(string(num))
	if !ok {
		return quantity{}, false
	}
	unit := obj.String("unit")
	if code := obj.String("code"); code != "" {
		if sys := obj.String("system"); sys == ucumSystem || sys == "" {
			unit = code
		}
	}
	if unit == "" {
		unit = "1"
	}
	return quantity{d, unit}, true
}

// unitOf returns the value of a unit in base units, for a UCUM code or a
// calendar keyword. Calendar years and months count in dimCal months;
// the other calendar keywords are the UCUM units of the same duration.
func unitOf(unit string) (unitValue, error) {
	if isCalendarKeyword(unit) {
		switch strings.TrimSuffix(unit, "s") {
		case "year":
			u := unitValue{f: big.NewRat(12, 1)}
			u.d[dimCal] = 1
			return u, nil
		case "month":
			u := unitValue{f: big.NewRat(1, 1)}
			u.d[dimCal] = 1
			return u, nil
		}
		return parseUnit(ucumOfCalendar(unit))
	}
	return parseUnit(unit)
}

// ucumOfCalendar returns the UCUM code of a calendar keyword of definite
// duration (week and finer).
func ucumOfCalendar(unit string) string {
	switch strings.TrimSuffix(unit, "s") {
	case "week":
		return "wk"
	case "day":
		return "d"
	case "hour":
		return "h"
	case "minute":
		return "min"
	case "second":
		return "s"
	case "millisecond":
		return "ms"
	case "year":
		return "a"
	case "month":
		return "mo"
	}
	return unit
}

// base returns q's value in base units and their dimensions.
func (q quantity) base() (*big.Rat, dims, bool) {
	u, err := unitOf(q.unit)
	if err != nil {
		return nil, dims{}, false
	}
	r := q.v.rat()
	switch u.special {
	case "Cel":
		r.Add(r, big.NewRat(27315, 100))
	case "[degF]":
		r.Add(r, big.NewRat(45967, 100))
		r.Mul(r, big.NewRat(5, 9))
	default:
		r.Mul(r, u.f)
	}
	return r, u.d, true
}

// fromBase converts a value in base units to unit, whose dimensions must be d.
func fromBase(r *big.Rat, d dims, unit string) (*big.Rat, bool) {
	u, err := unitOf(unit)
	if err != nil || u.d != d {
		return nil, false
	}
	out := new(big.Rat).Set(r)
	switch u.special {
	case "Cel":
		out.Sub(out, big.NewRat(27315, 100))
	case "[degF]":
		out.Mul(out, big.NewRat(9, 5))
		out.Sub(out, big.NewRat(45967, 100))
	default:
		out.Quo(out, u.f)
	}
	return out, true
}

// compareQuantities orders a and b; ok is false if their units are not
// comparable (different dimensions, or a unit this engine does not know
// unless both have it).
func compareQuantities(a, b quantity) (c int, ok bool) {
	if a.unit == b.unit {
		return a.v.cmp(b.v), true
	}
	ra, da, oka := a.base()
	rb, db, okb := b.base()
	if !oka || !okb || da != db {
		return 0, false
	}
	return ra.Cmp(rb), true
}

// convert returns q in unit, if the units are comparable.
func (q quantity) convert(unit string) (quantity, bool) {
	if q.unit == unit {
		return q, true
	}
	r, d, ok := q.base()
	if !ok {
		return quantity{}, false
	}
	out, ok := fromBase(r, d, unit)
	if !ok {
		return quantity{}, false
	}
	return quantity{ratDecimal(out, q.v.scale), unit}, true
}

// ratDecimal returns r exactly if it has few enough places, else rounded
// to divScale places or minScale if more.
func ratDecimal(r *big.Rat, minScale int) decimal {
	if d, ok := exactDecimal(r, max(divScale, minScale)+12); ok {
		return d
	}
	return ratToDecimal(r, max(divScale, minScale))
}

// equivalentQuantities reports whether a and b are equal at the precision
// of the less precise of them, after converting b to a's unit.
func equivalentQuantities(a, b quantity) bool {
	bc, ok := b.convert(a.unit)
	if !ok {
		return false
	}
	s := min(a.v.scale, bc.v.scale)
	return a.v.round(s).cmp(bc.v.round(s)) == 0
}

// addQuantities adds (or, with neg, subtracts) b to a in a's unit.
func addQuantities(a, b quantity, neg bool) (quantity, bool) {
	bc, ok := b.convert(a.unit)
	if !ok {
		return quantity{}, false
	}
	if neg {
		return quantity{a.v.sub(bc.v), a.unit}, true
	}
	return quantity{a.v.add(bc.v), a.unit}, true
}

// productUnit returns the UCUM unit of a product (or, with div, quotient).
func productUnit(a, b string, div bool) string {
	if isCalendarKeyword(a) {
		a = ucumOfCalendar(a)
	}
	if isCalendarKeyword(b) {
		b = ucumOfCalendar(b)
	}
	if div && a == b {
		return "1"
	}
	if b == "1" {
		return a
	}
	if strings.ContainsAny(b, "./") {
		b = "(" + b + ")"
	}
	if div {
		if a == "1" {
			return "/" + b
		}
		return a + "/" + b
	}
	if a == "1" {
		return b
	}
	return a + "." + b
}
