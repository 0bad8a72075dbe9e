package search

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"kartehub/internal/fhir"
	"kartehub/internal/fold"
	"kartehub/internal/karte"
	"kartehub/internal/searchparam"
)

// prefixes of ordered values, longest first is not needed: all are two
// letters.
var prefixes = map[string]karte.Op{
	"eq": karte.Eq, "ne": karte.Ne, "lt": karte.Lt, "gt": karte.Gt, "le": karte.Le,
	"ge": karte.Ge, "sa": karte.Sa, "eb": karte.Eb, "ap": karte.Ap,
}

// condition parses one value of parameter p with its modifier.
func (e *Engine) condition(ctx context.Context, p *searchparam.Param, modifier, v string) (*karte.Condition, error) {
	c := &karte.Condition{Param: p.Code, Kind: kindOf(p.Type)}
	switch p.Code {
	case "_id":
		c.Kind, c.String = karte.KindID, v
		return c, modifierNone(modifier, "_id")
	case "_lastUpdated":
		c.Kind = karte.KindLastUpdated
		return c, e.date(c, v)
	case "_list":
		return listCondition(v), nil
	}
	if modifier == "missing" {
		if v != "true" && v != "false" {
			return nil, karte.Errorf(karte.Invalid, ":missing takes true or false")
		}
		c.Op, c.Missing = karte.Exists, v == "true"
		return c, nil
	}
	switch p.Type {
	case searchparam.String:
		return c, stringCondition(c, modifier, v)
	case searchparam.Token:
		return c, e.tokenCondition(ctx, c, modifier, v)
	case searchparam.Reference:
		return c, referenceCondition(c, p, modifier, v)
	case searchparam.Date:
		return c, e.withModifier(modifier, func() error { return e.date(c, v) })
	case searchparam.Number:
		return c, e.withModifier(modifier, func() error { return number(c, v) })
	case searchparam.Quantity:
		return c, e.withModifier(modifier, func() error { return quantity(c, v) })
	case searchparam.URI:
		return c, uriCondition(c, modifier, v)
	case searchparam.Composite:
		return c, e.composite(ctx, c, p, modifier, v)
	}
	return nil, karte.Errorf(karte.NotSupported, "search parameter %s of type %s is not supported", p.Code, p.Type)
}

func modifierNone(modifier, code string) error {
	if modifier != "" {
		return karte.Errorf(karte.Invalid, "%s takes no modifier :%s", code, modifier)
	}
	return nil
}

func (e *Engine) withModifier(modifier string, parse func() error) error {
	if modifier != "" {
		return karte.Errorf(karte.Invalid, "modifier :%s does not apply here", modifier)
	}
	return parse()
}

// listCondition: _list=id is the resources that List/id has as items.
func listCondition(id string) *karte.Condition {
	sub := &karte.Query{Types: []string{"List"}, Where: []karte.Clause{{{Param: "_id", Kind: karte.KindID, String: id}}}}
	return &karte.Condition{Param: "_list", Kind: karte.KindReference, Has: &karte.Has{Type: "List", Param: "item", Query: sub}}
}

func stringCondition(c *karte.Condition, modifier, v string) error {
	switch modifier {
	case "":
		c.String = fold.String(v)
	case "exact":
		c.Op, c.String = karte.Exact, v
	case "contains":
		c.Op, c.String = karte.Contains, fold.String(v)
	default:
		return karte.Errorf(karte.Invalid, "string parameters take :exact, :contains or :missing, not :%s", modifier)
	}
	return nil
}

func (e *Engine) tokenCondition(ctx context.Context, c *karte.Condition, modifier, v string) error {
	switch modifier {
	case "text":
		c.Op, c.String = karte.Text, fold.String(v)
		return nil
	case "in", "not-in":
		if e.ValueSet == nil {
			return karte.Errorf(karte.NotSupported, ":%s needs ValueSets, which this server cannot expand", modifier)
		}
		codes, err := e.ValueSet(ctx, v)
		if err != nil {
			return err
		}
		c.Op, c.Codes, c.Not = karte.In, codes, modifier == "not-in"
		return nil
	case "not":
		c.Not = true
	case "of-type":
		return ofType(c, v)
	case "above", "below":
		return karte.Errorf(karte.NotSupported, ":%s on tokens needs a terminology server", modifier)
	case "":
	default:
		return karte.Errorf(karte.Invalid, "token parameters take :text, :not, :in, :not-in, :of-type or :missing, not :%s", modifier)
	}
	parseToken(c, v)
	return nil
}

// parseToken reads [system]|[code], |code and code.
func parseToken(c *karte.Condition, v string) {
	system, code, found := strings.Cut(v, "|")
	switch {
	case !found:
		c.String, c.AnySystem = v, true
	case system == "":
		c.String, c.NoSystem = code, true
	case code == "":
		c.System, c.AnyCode = system, true
	default:
		c.System, c.String = system, code
	}
}

// ofType reads identifier:of-type=type-system|type-code|value: the index
// keeps typed identifiers as a token "system|code" of the type with the
// value, under the parameter name with ":of-type".
func ofType(c *karte.Condition, v string) error {
	parts := strings.SplitN(v, "|", 3)
	if len(parts) != 3 || parts[1] == "" || parts[2] == "" {
		return karte.Errorf(karte.Invalid, ":of-type takes type-system|type-code|value")
	}
	c.Param += ":of-type"
	c.System, c.String = parts[0]+"|"+parts[1], parts[2]
	return nil
}

func referenceCondition(c *karte.Condition, p *searchparam.Param, modifier, v string) error {
	if modifier == "identifier" {
		c.Kind, c.Param = karte.KindToken, p.Code+":identifier"
		parseToken(c, v)
		return nil
	}
	if modifier != "" && !fhir.IsResourceType(modifier) {
		return karte.Errorf(karte.Invalid, "reference parameters take a resource type, :identifier or :missing, not :%s", modifier)
	}
	switch {
	case strings.Contains(v, "://") || strings.HasPrefix(v, "urn:"):
		// An absolute URL names a resource on some server; it is never
		// taken for a local one, whose id it may merely end with.
		c.URL = v
	case strings.Contains(v, "/"):
		typ, id, _ := strings.Cut(v, "/")
		id, _, _ = strings.Cut(id, "/_history")
		if !fhir.IsResourceType(typ) {
			return karte.Errorf(karte.Invalid, "reference %q: unknown resource type", v)
		}
		c.RefType, c.RefID = typ, id
	default:
		c.RefID = v
		if len(p.Targets) == 1 {
			c.RefType = p.Targets[0]
		}
	}
	if modifier != "" {
		if c.RefType != "" && c.RefType != modifier {
			return karte.Errorf(karte.Invalid, "reference %q is not of type %s", v, modifier)
		}
		c.RefType = modifier
	}
	return nil
}

// prefix splits an ordered value into its prefix and the rest.
func prefix(v string) (karte.Op, string) {
	if len(v) > 2 {
		if op, ok := prefixes[v[:2]]; ok {
			return op, v[2:]
		}
	}
	return karte.Eq, v
}

// date reads [prefix]date into the criterion's period; ap widens it by a
// tenth of its distance from now, as the specification suggests.
func (e *Engine) date(c *karte.Condition, v string) error {
	op, rest := prefix(v)
	lo, hi, err := DateRange(rest)
	if err != nil {
		return karte.Errorf(karte.Invalid, "%w", err)
	}
	c.Op, c.Lo, c.Hi = op, lo.UnixMilli(), hi.UnixMilli()
	if op == karte.Ap {
		d := e.now().Sub(lo)
		if d < 0 {
			d = -d
		}
		widen := max(d/10, 24*time.Hour).Milliseconds()
		c.Lo, c.Hi = c.Lo-widen, c.Hi+widen
	}
	return nil
}

// number reads [prefix]number and the range its precision implies: 100
// means [99.5, 100.5), 1e2 likewise; ap means within 10 %.
func number(c *karte.Condition, v string) error {
	op, rest := prefix(v)
	n, err := strconv.ParseFloat(rest, 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return karte.Errorf(karte.Invalid, "%q is not a number", rest)
	}
	half := precisionHalf(rest)
	c.Op, c.Number, c.NumLo, c.NumHi = op, n, n-half, n+half
	if op == karte.Ap {
		c.Op, c.NumLo, c.NumHi = karte.Eq, n-math.Abs(n)*0.1, n+math.Abs(n)*0.1+half
	}
	return nil
}

// precisionHalf is half the unit of the last digit given: 0.5 for "100",
// 0.005 for "1.00".
func precisionHalf(s string) float64 {
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	e := 0
	if exp != "" {
		e, _ = strconv.Atoi(exp)
	}
	if _, frac, ok := strings.Cut(mant, "."); ok {
		e -= len(frac)
	}
	return 0.5 * math.Pow(10, float64(e))
}

// quantity reads [prefix]number|system|code (or number||code, number).
func quantity(c *karte.Condition, v string) error {
	num, unit, _ := strings.Cut(v, "|")
	if err := number(c, num); err != nil {
		return err
	}
	system, code, found := strings.Cut(unit, "|")
	if !found {
		code, system = unit, ""
	}
	c.System, c.String, c.AnySystem = system, code, system == ""
	if cc, factor, ok := canonicalUnit(code); ok && (system == "" || system == ucum) {
		c.Canonical, c.String = true, cc
		c.Number, c.NumLo, c.NumHi = c.Number*factor, c.NumLo*factor, c.NumHi*factor
	}
	return nil
}

func uriCondition(c *karte.Condition, modifier, v string) error {
	c.String = v
	switch modifier {
	case "":
	case "above":
		c.Op = karte.Above
	case "below":
		c.Op = karte.Below
	default:
		return karte.Errorf(karte.Invalid, "uri parameters take :above, :below or :missing, not :%s", modifier)
	}
	return nil
}

// composite reads first$second for a composite parameter of two parts.
func (e *Engine) composite(ctx context.Context, c *karte.Condition, p *searchparam.Param, modifier, v string) error {
	if modifier != "" {
		return karte.Errorf(karte.Invalid, "composite parameters take no modifier :%s", modifier)
	}
	a, b, found := strings.Cut(v, "$")
	if !found || len(p.Components) != 2 {
		return karte.Errorf(karte.Invalid, "composite %s takes two values joined by $", p.Code)
	}
	parseToken(c, a)
	second := p.Components[1].Param
	if second == nil {
		return karte.Errorf(karte.NotSupported, "composite %s: its second component is not known", p.Code)
	}
	s, err := e.condition(ctx, second, "", b)
	if err != nil {
		return err
	}
	c.Second = s
	return nil
}
