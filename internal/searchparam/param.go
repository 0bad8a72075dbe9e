package searchparam

// Type is the type of a search parameter: how its values are matched.
type Type uint8

// The search parameter types of FHIR R4, in the order of the R4 value set
// search-param-type. The zero Type is none of them.
const (
	Number Type = iota + 1
	Date
	String
	Token
	Reference
	Composite
	Quantity
	URI
	Special
)

var typeCodes = [...]string{
	Number: "number", Date: "date", String: "string", Token: "token",
	Reference: "reference", Composite: "composite", Quantity: "quantity",
	URI: "uri", Special: "special",
}

// String returns the FHIR code of t ("token", "reference", ...), or "" for
// the zero Type and values out of range.
func (t Type) String() string {
	if int(t) < len(typeCodes) {
		return typeCodes[t]
	}
	return ""
}

// ParseType returns the Type whose FHIR code is code.
func ParseType(code string) (Type, bool) {
	for t, c := range typeCodes {
		if c != "" && c == code {
			return Type(t), true
		}
	}
	return 0, false
}

// Param is a search parameter as it applies to one resource type: the
// definitions of R4 share one SearchParameter among many types
// (clinical-code serves AllergyIntolerance, Condition, Observation, ...),
// and a registry holds one Param for each of them.
//
// A Param held by a Registry is shared by every reader: treat it, and the
// slices it holds, as read-only.
type Param struct {
	URL  string // canonical URL of the SearchParameter that defines it
	Code string // name in search URLs: "code", "_id"
	Name string // computer-friendly name of the definition
	Type Type

	// Base is the one resource type the Param applies to, or Resource or
	// DomainResource for the parameters common to all types (_id, _tag, ...).
	Base string
	// Expression is the FHIRPath expression that extracts the values of the
	// parameter from a resource of type Base. It is the part of the
	// definition's expression that applies to Base: a union over several
	// bases is cut down to the operands that start with Base (or with a type
	// Base inherits from). It is empty for parameters the server implements
	// by itself: _text, _content, _query, _filter, _list, _has, _type.
	Expression string

	// Targets are the resource types a reference parameter may point to,
	// sorted. Where every operand of Expression ends in
	// ".where(resolve() is X)", they are narrowed to those X: patient on
	// Observation targets only Patient, though its definition lists Group
	// too.
	Targets []string
	// Components are the parts of a composite parameter, in order.
	Components []Component

	Modifiers   []string // modifiers the definition allows ("missing", "exact", ...), if it says
	Comparators []string // comparators allowed ("eq", "gt", ...), if the definition says
	Chains      []string // chained names allowed, if the definition says

	// MultipleOr reports whether the parameter may take several values
	// joined by commas, and MultipleAnd whether it may repeat. A definition
	// that does not say allows both.
	MultipleOr, MultipleAnd bool
}

// Component is one part of a composite parameter: a parameter defined
// elsewhere, evaluated on each value of the composite's expression.
type Component struct {
	Definition string // canonical URL of the component's SearchParameter
	Expression string // FHIRPath, relative to a value of the composite's expression
	// Param is the definition resolved for the composite's base, set when
	// the composite enters a registry. It is nil in a Param returned by
	// FromResource.
	Param *Param
}

// IsCommon reports whether p applies to every resource type rather than to
// one: its base is Resource or DomainResource.
func (p *Param) IsCommon() bool {
	return p.Base == "Resource" || p.Base == "DomainResource"
}
