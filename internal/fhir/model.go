package fhir

// This file exposes the generated R4 tables to packages that walk resources
// by type, such as the FHIRPath engine: type handles, their elements and the
// R4 type hierarchy. Lookups are binary searches over static tables; nothing
// is allocated or built per call.

// Type is an R4 type of the generated tables: a resource, a complex or
// primitive data type, or a backbone element, which is named by its path
// ("Observation.component"). The zero Type is no type.
type Type uint16

// TypeOf returns the resource, data type or primitive called name
// ("Patient", "HumanName", "dateTime"), or the zero Type if R4 has none.
// Backbone elements have no name of their own to look up: reach them
// through the elements of their parent.
func TypeOf(name string) Type {
	if t, ok := lookupType(name); ok {
		return Type(t) + 1
	}
	return 0
}

func (t Type) def() *typeDef { return &typeDefs[t-1] }

// Name returns the type's name: "Patient", "dateTime", or a path such as
// "Observation.component" for a backbone element; "" for the zero Type.
func (t Type) Name() string {
	if t == 0 {
		return ""
	}
	return t.def().name
}

// IsPrimitive reports whether t is a primitive type (boolean, string,
// dateTime, ...), whose JSON value may have an _name sibling.
func (t Type) IsPrimitive() bool { return t != 0 && t.def().kind == primitiveKind }

// IsResource reports whether t is a resource type, including the abstract
// Resource and DomainResource.
func (t Type) IsResource() bool { return t != 0 && t.def().kind == resourceKind }

// IsBackbone reports whether t is a backbone element, an anonymous type
// defined inside another type.
func (t Type) IsBackbone() bool { return t != 0 && t.def().kind == backboneKind }

// IsAbstract reports whether t is abstract (Resource, DomainResource,
// Element, BackboneElement): no value has it as its own type.
func (t Type) IsAbstract() bool { return t != 0 && t.def().abstract }

// The types the R4 hierarchy in Base refers to, looked up once.
var (
	typeElementT         = TypeOf("Element")
	typeBackboneElementT = TypeOf("BackboneElement")
	typeQuantityT        = TypeOf("Quantity")
	typeStringT          = TypeOf("string")
	typeURIT             = TypeOf("uri")
	typeIntegerT         = TypeOf("integer")
	typeResourceT        = TypeOf("Resource")
	typeDomainResourceT  = TypeOf("DomainResource")
)

// Base returns the type t is derived from in R4 (code from string, Age from
// Quantity, Patient from DomainResource, a backbone element from
// BackboneElement, ...), or the zero Type for Element and Resource, the
// roots. The generated tables do not record it; the R4 hierarchy is small
// and fixed, so it is written out here.
func (t Type) Base() Type {
	if t == 0 {
		return 0
	}
	td := t.def()
	switch td.kind {
	case primitiveKind:
		return primitiveBase(td.name)
	case backboneKind:
		return typeBackboneElementT
	case resourceKind:
		switch td.name {
		case "Resource":
			return 0
		case "DomainResource", "Bundle", "Binary", "Parameters":
			return typeResourceT
		}
		return typeDomainResourceT
	}
	return complexBase(td.name)
}

// primitiveBase returns the base of a primitive type: the R4 primitives that
// specialise another one, or Element.
func primitiveBase(name string) Type {
	switch name {
	case "code", "id", "markdown":
		return typeStringT
	case "canonical", "oid", "url", "uuid":
		return typeURIT
	case "positiveInt", "unsignedInt":
		return typeIntegerT
	}
	return typeElementT
}

// complexBase returns the base of a complex data type.
func complexBase(name string) Type {
	switch name {
	case "Element":
		return 0
	case "Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity":
		return typeQuantityT
	case "Dosage", "ElementDefinition", "MarketingStatus", "Population",
		"ProdCharacteristic", "ProductShelfLife", "SubstanceAmount", "Timing":
		return typeBackboneElementT
	}
	return typeElementT
}

// Is reports whether t is base or derived from it.
func (t Type) Is(base Type) bool {
	for ; t != 0; t = t.Base() {
		if t == base {
			return true
		}
	}
	return false
}

// Element is an element of a type, such as Patient.name or Observation.value[x].
type Element struct {
	i uint16 // index in elemDefs
}

func (e Element) def() *elemDef { return &elemDefs[e.i] }

// Element returns the element of t called name. A choice element is named
// by its stem: "value" for value[x]. Use ElementOfKey for JSON member keys
// such as "valueQuantity".
func (t Type) Element(name string) (Element, bool) {
	if t == 0 {
		return Element{}, false
	}
	td := t.def()
	sig := keySig(name)
	end := int(td.elems) + int(td.nplain)
	lo, hi := int(td.elems), end
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if elemDefs[mid].sig < sig {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for ; lo < end && elemDefs[lo].sig == sig; lo++ {
		if elemDefs[lo].name == name {
			return Element{uint16(lo)}, true
		}
	}
	for i := end; i < end+int(td.nchoice); i++ {
		if elemDefs[i].name == name {
			return Element{uint16(i)}, true
		}
	}
	return Element{}, false
}

// ElementOfKey returns the element that a JSON member key of an object of
// type t names (without any leading _), and the type of its value: for
// "valueQuantity" in an Observation, value[x] and Quantity. It reports false
// for an unknown key or a choice suffix the element does not allow.
func (t Type) ElementOfKey(key string) (Element, Type, bool) {
	if t == 0 {
		return Element{}, 0, false
	}
	i, typ, res := t.def().element(key)
	if res != elemFound {
		return Element{}, 0, false
	}
	return Element{uint16(i)}, Type(typ) + 1, true
}

// Name returns the element's name; for a choice element, its stem ("value").
func (e Element) Name() string { return e.def().name }

// Type returns the element's type, or the zero Type for a choice element,
// whose type each value's JSON key selects (see ChoiceType).
func (e Element) Type() Type {
	d := e.def()
	if d.flags&elemChoice != 0 {
		return 0
	}
	return Type(d.typ) + 1
}

// Many reports whether the element repeats (max *), so that JSON holds an array.
func (e Element) Many() bool { return e.def().flags&elemMany != 0 }

// IsChoice reports whether the element is a choice element such as value[x].
func (e Element) IsChoice() bool { return e.def().flags&elemChoice != 0 }

// IsSystem reports whether the element has a FHIRPath System type rather
// than a FHIR one: Resource.id, Element.id and Extension.url are
// System.String, and have no _name sibling.
func (e Element) IsSystem() bool { return e.def().flags&elemSystem != 0 }

// ChoiceType returns the type that a JSON key suffix selects for a choice
// element ("DateTime" selects dateTime), or the zero Type if the element
// does not allow it or is not a choice element.
func (e Element) ChoiceType(suffix string) Type {
	d := e.def()
	if d.flags&elemChoice == 0 {
		return 0
	}
	if t, ok := d.choiceType(suffix); ok {
		return Type(t) + 1
	}
	return 0
}

// ChoiceTypes returns the number of types a choice element allows; see ChoiceTypeAt.
func (e Element) ChoiceTypes() int {
	d := e.def()
	if d.flags&elemChoice == 0 {
		return 0
	}
	return int(d.ntyp)
}

// ChoiceTypeAt returns the i-th type a choice element allows, 0 <= i < ChoiceTypes().
func (e Element) ChoiceTypeAt(i int) Type {
	d := e.def()
	return Type(choiceTypes[int(d.typ)+i]) + 1
}
