package fhirpath

import (
	"strconv"
	"strings"

	"kartehub/internal/fhir"
)

// Collection is the value of a FHIRPath expression: an ordered list of
// items, possibly empty. Collections that the engine hands out may share
// memory with the resource and with each other: read them, append to them,
// but do not overwrite their items.
type Collection []Item

// Item is one value of a Collection with its type. A node of the resource
// has the FHIR type the R4 model gives its element ("HumanName", "dateTime",
// "Patient"); a literal or computed value has a System type
// ("System.Integer"). See Value for how each is represented.
type Item struct {
	v   any          // see Value
	ext *fhir.Object // the _name sibling of a primitive, with its id and extensions
	ft  fhir.Type    // FHIR type, when st is sysNone
	st  sysType      // System type, or sysNone
}

// sysType is a FHIRPath System type, or sysNone for an item whose type is
// the FHIR type in Item.ft (or unknown, for JSON outside the model).
type sysType uint8

const (
	sysNone sysType = iota
	sysBoolean
	sysInteger
	sysDecimal
	sysString
	sysDate
	sysDateTime
	sysTime
	sysQuantity
	sysTypeInfo // what type() returns: an object with namespace and name
)

// sysTypeNames are the names of the System types, indexed by sysType.
var sysTypeNames = [...]string{"", "Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity", "TypeInfo"}

// Quantity is the value of a System.Quantity item: a decimal and a unit,
// either a UCUM code ("mg", "[lb_av]") or a calendar duration keyword
// ("year", "months", "day", ... "millisecond").
type Quantity struct {
	Value fhir.Number
	Unit  string
}

// Value returns the item's value. For a node of the resource it is the
// fhir.Value itself: *fhir.Object, string, fhir.Number or bool, or nil for
// a primitive that has only extensions. For a System value it is a bool
// (Boolean), int64 (Integer), fhir.Number (Decimal, as its text), string
// (String; and Date, DateTime and Time in FHIR syntax without the @),
// Quantity, or *fhir.Object for what type() returns.
func (it Item) Value() any { return it.v }

// Type returns the item's type: a FHIR type name as the R4 model gives it
// ("HumanName", "dateTime", "Observation.component" for a backbone
// element), a System type ("System.Integer"), or "" for a JSON object that
// the model does not describe.
func (it Item) Type() string {
	if it.st != sysNone {
		return "System." + sysTypeNames[it.st]
	}
	return it.ft.Name()
}

// FHIRType returns the item's FHIR type, or the zero Type for a System
// value or JSON that the model does not describe.
func (it Item) FHIRType() fhir.Type {
	if it.st != sysNone {
		return 0
	}
	return it.ft
}

// String returns the item as toString() gives it, or, for an item that
// toString() does not convert (an object), its FHIR JSON.
func (it Item) String() string {
	if s, ok := itemString(it); ok {
		return s
	}
	if obj, ok := it.v.(*fhir.Object); ok {
		return string(fhir.Marshal(obj))
	}
	return ""
}

// Of returns the items of FHIR JSON values, so that callers can pass
// resources and values as environment variables (see Options.Vars). An
// object with a resourceType gets that resource type; strings, numbers and
// booleans become System values; arrays contribute each of their items;
// other objects are untyped JSON.
func Of(values ...fhir.Value) Collection {
	var out Collection
	for _, v := range values {
		out = appendOf(out, v)
	}
	return out
}

func appendOf(out Collection, v fhir.Value) Collection {
	switch v := v.(type) {
	case nil:
		return out
	case []fhir.Value:
		for _, e := range v {
			out = appendOf(out, e)
		}
		return out
	}
	if it := jsonItem(v); it.v != nil {
		out = append(out, it)
	}
	return out
}

// jsonItem returns the item of a JSON value outside the model: a resource
// typed by its resourceType, other objects untyped, primitives as System
// values. It returns the zero Item for anything else.
func jsonItem(v fhir.Value) Item {
	switch v := v.(type) {
	case *fhir.Object:
		return objectItem(v, 0)
	case string:
		return Item{v: v, st: sysString}
	case bool:
		return Item{v: v, st: sysBoolean}
	case fhir.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return Item{v: n, st: sysInteger}
		}
		return Item{v: v, st: sysDecimal}
	}
	return Item{}
}

// objectItem returns the item of a JSON object whose element has type t:
// a resource takes the type its resourceType names, since elements of type
// Resource hold any resource.
func objectItem(obj *fhir.Object, t fhir.Type) Item {
	if t == 0 || (t.IsResource() && t.IsAbstract()) {
		if rt := obj.String("resourceType"); rt != "" {
			if r, ok := resourceTypes[rt]; ok {
				return Item{v: obj, ft: r}
			}
		}
	}
	return Item{v: obj, ft: t}
}

// resourceTypes maps the names of the concrete resource types to their
// types: every evaluation looks its root's up, and a map is quicker than
// the binary search of fhir.TypeOf.
var resourceTypes = func() map[string]fhir.Type {
	names := fhir.ResourceTypes()
	m := make(map[string]fhir.Type, len(names))
	for _, name := range names {
		m[name] = fhir.TypeOf(name)
	}
	return m
}()

// Constructors of System items.

func boolItem(b bool) Item          { return Item{v: b, st: sysBoolean} }
func intItem(n int64) Item          { return Item{v: n, st: sysInteger} }
func stringItem(s string) Item      { return Item{v: s, st: sysString} }
func decimalItem(d decimal) Item    { return Item{v: fhir.Number(d.String()), st: sysDecimal} }
func quantityItem(q quantity) Item  { return Item{v: q.export(), st: sysQuantity} }
func dateTimeItem(d dateTime) Item  { return Item{v: d.String(), st: d.kind} }
func collection(it Item) Collection { return Collection{it} }

// Shared results: collections are never written after they are built, so
// the engine hands these out to every caller.
var (
	trueColl  = Collection{boolItem(true)}
	falseColl = Collection{boolItem(false)}
)

func boolColl(b bool) Collection {
	if b {
		return trueColl
	}
	return falseColl
}

// kind returns the System type an item behaves as in operators and
// functions: its own System type, the one its FHIR primitive type maps to
// (code is a String, instant a DateTime, ...), sysQuantity for FHIR
// Quantity and its specialisations, or, for untyped JSON, the one its JSON
// value suggests. Objects are sysNone.
func (it Item) kind() sysType {
	if it.st != sysNone {
		return it.st
	}
	if it.ft != 0 {
		if k := primitiveKind(it.ft); k != sysNone {
			return k
		}
		if isQuantityType(it.ft) {
			return sysQuantity
		}
		return sysNone
	}
	switch v := it.v.(type) {
	case string:
		return sysString
	case bool:
		return sysBoolean
	case fhir.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return sysDecimal
		}
		return sysInteger
	}
	return sysNone
}

// FHIR types the engine treats specially, looked up once.
var (
	typeQuantity  = fhir.TypeOf("Quantity")
	typeExtension = fhir.TypeOf("Extension")
	typeElement   = fhir.TypeOf("Element")
	typeReference = fhir.TypeOf("Reference")
	typeResource  = fhir.TypeOf("Resource")
)

// primitiveKinds maps each FHIR primitive type to its System type; it is
// indexed by fhir.Type and built once, so that the lookup on every operator
// is one bounds check.
var primitiveKinds = func() []sysType {
	kinds := map[string]sysType{
		"boolean": sysBoolean, "integer": sysInteger, "positiveInt": sysInteger,
		"unsignedInt": sysInteger, "decimal": sysDecimal, "date": sysDate,
		"dateTime": sysDateTime, "instant": sysDateTime, "time": sysTime,
		"string": sysString, "code": sysString, "id": sysString, "markdown": sysString,
		"uri": sysString, "url": sysString, "canonical": sysString, "oid": sysString,
		"uuid": sysString, "base64Binary": sysString, "xhtml": sysString,
	}
	var table []sysType
	for name, k := range kinds {
		t := fhir.TypeOf(name)
		if t == 0 {
			continue
		}
		for int(t) >= len(table) {
			table = append(table, sysNone)
		}
		table[t] = k
	}
	return table
}()

func primitiveKind(t fhir.Type) sysType {
	if int(t) < len(primitiveKinds) {
		return primitiveKinds[t]
	}
	return sysNone
}

// isQuantityType reports whether t is Quantity or one of its
// specialisations (Age, Duration, ...).
func isQuantityType(t fhir.Type) bool {
	return t == typeQuantity || (t != 0 && t.Base() == typeQuantity)
}
