package fhirpath

import (
	"strings"

	"kartehub/internal/fhir"
)

// equalItems compares two items with = semantics. known is false when
// the result is empty: date/times of different precision, quantities of
// incomparable units, primitives with no value.
func equalItems(a, b Item) (eq, known bool) {
	ka, kb := a.kind(), b.kind()
	if ka == sysNone || kb == sysNone {
		if ka != kb {
			return false, true
		}
		return sameNode(a, b) || fhir.Equal(a.v, b.v), true
	}
	if a.v == nil || b.v == nil {
		return false, false
	}
	switch ka {
	case sysString:
		sa, oka := stringOf(a)
		sb, okb := stringOf(b)
		return oka && okb && sa == sb, true
	case sysBoolean:
		ba, oka := boolOf(a)
		bb, okb := boolOf(b)
		return oka && okb && ba == bb, true
	case sysInteger, sysDecimal:
		if kb == sysQuantity {
			return equalQuantityItems(a, b)
		}
		da, oka := decimalOf(a)
		db, okb := decimalOf(b)
		return oka && okb && da.cmp(db) == 0, true
	case sysDate, sysDateTime, sysTime:
		da, oka := dateTimeOf(a)
		db, okb := dateTimeOf(b)
		if !oka || !okb {
			return false, true
		}
		c, ok, comparable := compareDateTimes(da, db)
		if !comparable {
			return false, true
		}
		return c == 0, ok
	case sysQuantity:
		return equalQuantityItems(a, b)
	}
	return false, true
}

// sameNode reports whether a and b are the same node of a resource.
func sameNode(a, b Item) bool {
	oa, ok := a.v.(*fhir.Object)
	ob, _ := b.v.(*fhir.Object)
	return ok && oa == ob
}

func equalQuantityItems(a, b Item) (bool, bool) {
	qa, oka := quantityOf(a)
	qb, okb := quantityOf(b)
	if !oka || !okb {
		return false, true
	}
	c, ok := compareQuantities(qa, qb)
	return ok && c == 0, ok
}

// equivalentItems compares two items with ~ semantics: strings ignoring
// case and runs of white space, decimals at the precision of the less
// precise, date/times of different precision as different.
func equivalentItems(a, b Item) bool {
	ka, kb := a.kind(), b.kind()
	if ka == sysNone || kb == sysNone {
		return ka == kb && (sameNode(a, b) || fhir.Equal(a.v, b.v))
	}
	switch ka {
	case sysString:
		sa, oka := stringOf(a)
		sb, okb := stringOf(b)
		return oka && okb && normalizeSpace(sa) == normalizeSpace(sb)
	case sysBoolean:
		ba, oka := boolOf(a)
		bb, okb := boolOf(b)
		return oka && okb && ba == bb
	case sysInteger, sysDecimal:
		if kb == sysQuantity {
			return equivalentQuantityItems(a, b)
		}
		da, oka := decimalOf(a)
		db, okb := decimalOf(b)
		if !oka || !okb {
			return false
		}
		s := min(da.scale, db.scale)
		return da.round(s).cmp(db.round(s)) == 0
	case sysDate, sysDateTime, sysTime:
		da, oka := dateTimeOf(a)
		db, okb := dateTimeOf(b)
		if !oka || !okb {
			return false
		}
		c, ok, _ := compareDateTimes(da, db)
		return ok && c == 0
	case sysQuantity:
		return equivalentQuantityItems(a, b)
	}
	return false
}

func equivalentQuantityItems(a, b Item) bool {
	qa, oka := quantityOf(a)
	qb, okb := quantityOf(b)
	return oka && okb && equivalentQuantities(qa, qb)
}

func normalizeSpace(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// equalCollections is = on collections: empty if either is empty, else
// true if they have equal items in the same order.
func equalCollections(a, b Collection) (eq, known bool) {
	if len(a) == 0 || len(b) == 0 {
		return false, false
	}
	if len(a) != len(b) {
		return false, true
	}
	unknown := false
	for i := range a {
		eq, known := equalItems(a[i], b[i])
		if !known {
			unknown = true
			continue
		}
		if !eq {
			return false, true
		}
	}
	return true, !unknown
}

// equivalentCollections is ~ on collections: true if both are empty or
// each item of one has an equivalent in the other, in any order.
func equivalentCollections(a, b Collection) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
	for i := range a {
		found := false
		for j := range b {
			if !used[j] && equivalentItems(a[i], b[j]) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// contains reports whether coll has an item equal to it.
func contains(coll Collection, it Item) bool {
	for i := range coll {
		if eq, _ := equalItems(coll[i], it); eq {
			return true
		}
	}
	return false
}

// distinct returns coll without repeated items (by =), in order.
func distinct(coll Collection) Collection {
	if len(coll) < 2 {
		return coll
	}
	out := make(Collection, 0, len(coll))
	for _, it := range coll {
		if !contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

// compareItems orders two items for <, <=, > and >=. known is false when
// the result is empty; comparing values of different types is an error,
// reported through ok false.
func compareItems(a, b Item) (c int, known, ok bool) {
	ka, kb := a.kind(), b.kind()
	switch {
	case ka == sysString && kb == sysString:
		sa, oka := stringOf(a)
		sb, okb := stringOf(b)
		if !oka || !okb {
			return 0, false, true
		}
		return strings.Compare(sa, sb), true, true
	case isNumber(ka) && isNumber(kb):
		da, oka := decimalOf(a)
		db, okb := decimalOf(b)
		if !oka || !okb {
			return 0, false, true
		}
		return da.cmp(db), true, true
	case isDateKind(ka) && isDateKind(kb):
		da, oka := dateTimeOf(a)
		db, okb := dateTimeOf(b)
		if !oka || !okb {
			return 0, false, true
		}
		c, known, comparable := compareDateTimes(da, db)
		return c, known, comparable
	case (ka == sysQuantity || isNumber(ka)) && (kb == sysQuantity || isNumber(kb)):
		qa, oka := quantityOf(a)
		qb, okb := quantityOf(b)
		if !oka || !okb {
			return 0, false, true
		}
		c, known := compareQuantities(qa, qb)
		return c, known, true
	}
	return 0, false, false
}

func isNumber(k sysType) bool   { return k == sysInteger || k == sysDecimal }
func isDateKind(k sysType) bool { return k == sysDate || k == sysDateTime || k == sysTime }
