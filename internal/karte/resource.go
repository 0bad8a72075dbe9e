package karte

import "time"

// Resource is one version of a FHIR resource as the store keeps it.
type Resource struct {
	Type        string
	ID          string
	VersionID   int64
	LastUpdated time.Time // server time of the write, at millisecond precision
	Deleted     bool      // this version records a deletion; Body is nil
	Method      string    // HTTP method that made this version: POST, PUT, PATCH or DELETE
	// Author is who made this version, kept with it in the same commit:
	// the "who entered" of a true record. Zero for versions written before
	// authors were kept.
	Author Author
	// Body is the resource as JSON, meta.versionId and meta.lastUpdated
	// included. Engines store and return it byte for byte.
	Body []byte
	// Seq is the version's place in the store's change log: it grows with
	// every write, so history pages can be cut by it without shifting.
	// Set by the store.
	Seq int64
}

// Identifier is a business identifier of a resource (FHIR Identifier.system
// and .value), kept so conditional interactions can find it.
type Identifier struct {
	System string
	Value  string
}

// Index holds the values of a resource version that the store keeps
// searchable alongside it, as the search parameters of its type extract
// them (see package search). Entries name their parameter by code.
type Index struct {
	Identifiers []Identifier
	Strings     []StringEntry
	Tokens      []TokenEntry
	References  []ReferenceEntry
	Dates       []DateEntry
	Numbers     []NumberEntry // number and quantity parameters
	URIs        []URIEntry
	Composites  []CompositeEntry
}

// StringEntry is a value of a string parameter.
type StringEntry struct {
	Param string
	Value string // folded for matching (case, width, accents, kana)
	Exact string // as written, for :exact
}

// TokenEntry is a value of a token parameter: a code in its system, an
// identifier, a boolean, or a plain code.
type TokenEntry struct {
	Param  string
	System string
	Code   string
	Text   string // folded display or text, for :text
}

// ReferenceEntry is a value of a reference parameter: a local reference
// (Type and ID) or an absolute or canonical URL.
type ReferenceEntry struct {
	Param    string
	Type, ID string
	URL      string
}

// DateEntry is a value of a date parameter: the period it covers, in unix
// milliseconds, Lo inclusive and Hi exclusive. A point in time at a given
// precision covers that whole precision ("2024-03" is all of March).
type DateEntry struct {
	Param  string
	Lo, Hi int64
}

// NumberEntry is a value of a number or quantity parameter. Quantities keep
// the system and code of their unit; the store compares Value only between
// entries and criteria with the same unit, and Canonical (UCUM base units)
// across units.
type NumberEntry struct {
	Param        string
	Value        float64
	System, Code string
	Unit         string
	// CanonicalValue and CanonicalCode are the value in UCUM base units,
	// when the unit converts (mg/dL and g/L alike); empty code otherwise.
	CanonicalValue float64
	CanonicalCode  string
}

// URIEntry is a value of a uri parameter.
type URIEntry struct {
	Param string
	URI   string
}

// CompositeEntry is one combination of the components of a composite
// parameter, taken from the same element: a token first, then a token, a
// quantity, a date or a string.
type CompositeEntry struct {
	Param          string
	System1, Code1 string
	System2, Code2 string // second component as token
	Number2        float64
	HasNumber2     bool
	Lo2, Hi2       int64  // second component as date
	String2        string // second component as string (folded)
	// CanonicalNumber2 and CanonicalCode2 are a quantity second component
	// in UCUM base units, when its unit converts.
	CanonicalNumber2 float64
	CanonicalCode2   string
}
