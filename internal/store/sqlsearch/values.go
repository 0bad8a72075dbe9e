package sqlsearch

import (
	"fmt"
	"strings"

	"kartehub/internal/karte"
)

// maxRune sorts after every folded string, so [v, v+maxRune) is the range
// of strings that start with v.
const maxRune = "\U0010FFFF"

// valueTest is the condition on index row x of table(c.Kind) that c holds.
func (b *builder) valueTest(c *karte.Condition, typ, x string) string {
	p := x + ".pkey = " + b.arg(ParamKey(typ, c.Param))
	var v string
	switch c.Kind {
	case karte.KindString:
		v = b.stringTest(c, x)
	case karte.KindToken:
		v = b.tokenTest(c, x, "system", "code")
	case karte.KindReference:
		v = b.referenceTest(c, x)
	case karte.KindDate:
		v = b.rangeTest(c, x+".lo", x+".hi")
	case karte.KindNumber, karte.KindQuantity:
		v = b.numberTest(c, x)
	case karte.KindURI:
		v = b.uriTest(c, x)
	case karte.KindComposite:
		v = b.compositeTest(c, x)
	default:
		v = "1 = 0"
	}
	return p + " AND " + v
}

func (b *builder) stringTest(c *karte.Condition, x string) string {
	switch c.Op {
	case karte.Exact:
		return x + ".exact = " + b.arg(c.String)
	case karte.Contains:
		return x + ".value LIKE " + b.arg("%"+escapeLike(c.String)+"%") + " ESCAPE '\\'"
	}
	return fmt.Sprintf("%s.value >= %s AND %s.value < %s", x, b.arg(c.String), x, b.arg(c.String+maxRune))
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// tokenTest matches a token by system and code columns (also used for the
// first component of composites).
func (b *builder) tokenTest(c *karte.Condition, x, system, code string) string {
	if c.Op == karte.Text {
		return fmt.Sprintf("%s.text >= %s AND %s.text < %s", x, b.arg(c.String), x, b.arg(c.String+maxRune))
	}
	if c.Op == karte.In {
		return b.codesTest(c.Codes, x, system, code)
	}
	var parts []string
	if !c.AnyCode {
		parts = append(parts, x+"."+code+" = "+b.arg(c.String))
	}
	switch {
	case c.NoSystem:
		parts = append(parts, x+"."+system+" = ''")
	case !c.AnySystem:
		parts = append(parts, x+"."+system+" = "+b.arg(c.System))
	}
	if len(parts) == 0 {
		return "1 = 1"
	}
	return strings.Join(parts, " AND ")
}

func (b *builder) codesTest(codes []karte.Coding, x, system, code string) string {
	if len(codes) == 0 {
		return "1 = 0"
	}
	alts := make([]string, len(codes))
	for i, cd := range codes {
		alts[i] = fmt.Sprintf("(%s.%s = %s AND %s.%s = %s)", x, code, b.arg(cd.Code), x, system, b.arg(cd.System))
	}
	return "(" + strings.Join(alts, " OR ") + ")"
}

func (b *builder) referenceTest(c *karte.Condition, x string) string {
	switch {
	case c.Chain != nil:
		return x + ".tkey IN (" + b.subset(c.Chain, "rkey") + ")"
	case c.URL != "":
		return x + ".url = " + b.arg(c.URL)
	case c.RefType != "":
		return fmt.Sprintf("%s.tkey = %s AND %s.ttype = %s AND %s.tid = %s", x,
			b.arg(ResourceKey(c.RefType, c.RefID)), x, b.arg(c.RefType), x, b.arg(c.RefID))
	}
	return x + ".tid = " + b.arg(c.RefID)
}

// rangeTest compares the period [lo, hi) of a value with the criterion's
// [c.Lo, c.Hi), as the FHIR prefixes define it for dates.
func (b *builder) rangeTest(c *karte.Condition, lo, hi string) string {
	switch c.Op {
	case karte.Ne:
		return fmt.Sprintf("NOT (%s >= %s AND %s <= %s)", lo, b.arg(c.Lo), hi, b.arg(c.Hi))
	case karte.Lt:
		return lo + " < " + b.arg(c.Lo)
	case karte.Le: // lt, or within the criterion
		return fmt.Sprintf("(%s < %s OR (%s >= %s AND %s <= %s))", lo, b.arg(c.Lo), lo, b.arg(c.Lo), hi, b.arg(c.Hi))
	case karte.Gt:
		return hi + " > " + b.arg(c.Hi)
	case karte.Ge: // gt, or within the criterion
		return fmt.Sprintf("(%s > %s OR (%s >= %s AND %s <= %s))", hi, b.arg(c.Hi), lo, b.arg(c.Lo), hi, b.arg(c.Hi))
	case karte.Sa:
		return lo + " >= " + b.arg(c.Hi)
	case karte.Eb:
		return hi + " <= " + b.arg(c.Lo)
	case karte.Ap: // the search package widened the criterion
		return fmt.Sprintf("%s < %s AND %s > %s", lo, b.arg(c.Hi), hi, b.arg(c.Lo))
	}
	return fmt.Sprintf("%s >= %s AND %s <= %s", lo, b.arg(c.Lo), hi, b.arg(c.Hi))
}

// numberTest compares a number or quantity. A quantity criterion with a
// unit compares in canonical units when it has them (c.System is then the
// canonical code), else in its own unit.
func (b *builder) numberTest(c *karte.Condition, x string) string {
	value := x + ".value"
	var unit string
	switch {
	case c.Kind != karte.KindQuantity || (c.String == "" && c.AnySystem):
	case c.Canonical:
		value = x + ".cvalue"
		unit = x + ".ccode = " + b.arg(c.String)
	case c.AnySystem || c.System == "":
		unit = x + ".code = " + b.arg(c.String)
	default:
		unit = fmt.Sprintf("%s.code = %s AND %s.system = %s", x, b.arg(c.String), x, b.arg(c.System))
	}
	cmp := b.compare(c, value)
	if unit == "" {
		return cmp
	}
	return unit + " AND " + cmp
}

func (b *builder) compare(c *karte.Condition, v string) string {
	switch c.Op {
	case karte.Ne:
		return fmt.Sprintf("NOT (%s >= %s AND %s < %s)", v, b.arg(c.NumLo), v, b.arg(c.NumHi))
	case karte.Lt:
		return v + " < " + b.arg(c.Number)
	case karte.Le:
		return v + " <= " + b.arg(c.Number)
	case karte.Gt, karte.Sa:
		return v + " > " + b.arg(c.Number)
	case karte.Ge:
		return v + " >= " + b.arg(c.Number)
	case karte.Eb:
		return v + " < " + b.arg(c.Number)
	}
	return fmt.Sprintf("%s >= %s AND %s < %s", v, b.arg(c.NumLo), v, b.arg(c.NumHi))
}

func (b *builder) uriTest(c *karte.Condition, x string) string {
	switch c.Op {
	case karte.Above: // the stored uri is a prefix of the criterion
		// Not LIKE: the stored uri would be a pattern, its % and _
		// wildcards.
		return "substr(" + b.arg(c.String) + ", 1, length(" + x + ".uri)) = " + x + ".uri"
	case karte.Below: // a byte range, not LIKE: SQLite's LIKE ignores case
		return fmt.Sprintf("%s.uri >= %s AND %s.uri < %s", x, b.arg(c.String), x, b.arg(c.String+maxRune))
	}
	return x + ".uri = " + b.arg(c.String)
}

// compositeTest matches the first component as a token and the second by
// its own kind, on the same index row, so both come from one element.
func (b *builder) compositeTest(c *karte.Condition, x string) string {
	first := b.tokenTest(c, x, "system1", "code1")
	s := c.Second
	if s == nil {
		return first
	}
	var second string
	switch s.Kind {
	case karte.KindToken:
		second = b.tokenTest(s, x, "system2", "code2")
	case karte.KindDate:
		second = b.rangeTest(s, x+".lo2", x+".hi2")
	case karte.KindString:
		second = fmt.Sprintf("%s.string2 >= %s AND %s.string2 < %s", x, b.arg(s.String), x, b.arg(s.String+maxRune))
	case karte.KindQuantity:
		second = b.compositeQuantity(s, x)
	default:
		second = b.compare(s, x+".number2")
	}
	return first + " AND " + second
}

// compositeQuantity compares a quantity second component, in canonical
// units when the criterion has them, as numberTest does for quantities.
func (b *builder) compositeQuantity(s *karte.Condition, x string) string {
	switch {
	case s.Canonical:
		return x + ".ccode2 = " + b.arg(s.String) + " AND " + b.compare(s, x+".cnumber2")
	case s.String == "" && s.AnySystem:
		return b.compare(s, x+".number2")
	case s.AnySystem || s.System == "":
		return x + ".code2 = " + b.arg(s.String) + " AND " + b.compare(s, x+".number2")
	}
	return fmt.Sprintf("%s.code2 = %s AND %s.system2 = %s AND %s", x, b.arg(s.String), x, b.arg(s.System), b.compare(s, x+".number2"))
}
