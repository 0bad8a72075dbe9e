// Package fhirpath is kartehub's FHIRPath engine: FHIRPath N1 (normative
// release 2.0.0) with the FHIR R4 additions, over the JSON trees of package
// fhir. Search indexing evaluates some twenty expressions on every write,
// so evaluation is built to be cheap: a simple path such as Patient.name
// takes about 150 ns and one allocation.
//
//	e, err := fhirpath.Compile("Patient.telecom.where(system = 'phone').value")
//	...
//	values, err := e.Evaluate(patient, nil) // patient is a *fhir.Object
//
// # Compiling
//
// Compile lexes and parses an expression into a syntax tree, then compiles
// it into a tree of nodes: function names, type names, literals, constant
// environment variables and literal regular expressions are resolved once.
// An Expression is immutable and safe for concurrent use. Errors carry the
// position of the problem (*Error, "fhirpath: 1:9: ...").
//
// The compiler also checks paths against the R4 model wherever it knows the
// type of a collection: a path that starts with a type name (Patient.name),
// navigation below it, the criteria of where() and its kin, and the result
// of as and ofType(). Naming an element the type does not define is then a
// compile error (Patient.nmae, Observation.valueQuantity: choice elements
// are named by their stem, value), as is an order-dependent function
// (first(), skip(), [i]) on the unordered result of children() or
// descendants(). Every R4 search-parameter expression passes these checks
// (testdata/r4-search-expressions.txt).
//
// # Types
//
// Every Item carries its type. Items of the resource get the FHIR type the
// R4 model (the generated tables of package fhir, through fhir.Type) gives
// their element: navigating from a Patient to name gives HumanName items,
// to birthDate a date. Choice elements resolve by name: Observation.value
// finds valueQuantity and types it Quantity. A resource inside another
// (contained, Bundle.entry.resource) takes the type its resourceType names.
// Backbone elements are typed by path ("Observation.component"). Elements
// that FHIRPath types as System.String (Resource.id, Element.id,
// Extension.url) are System.String. Literals and computed values have
// System types (System.Integer, System.Decimal, System.String,
// System.Boolean, System.Date, System.DateTime, System.Time,
// System.Quantity). JSON the model does not describe is navigated by member
// name; its objects are untyped and its primitives read as System values.
//
// A primitive keeps its _name sibling: Patient.birthDate.extension(url)
// finds the extensions of the birthDate, and a primitive that has only
// extensions (a null in an array with an object at the same index in
// _given) is an item with no value, for which hasValue() is false.
//
// At run time, naming an element that no item's type defines is an error
// too (name.given1 on HumanName items), unless the items come from
// children() or descendants(), which mix types.
//
// is, as and ofType() follow the R4 type hierarchy (code is a string, Age
// is a Quantity, Patient is a DomainResource). An unqualified type name is
// looked up in the FHIR model first, then among the System types, so
// boolean is FHIR's and Boolean the System one; FHIR.Quantity also matches
// a System.Quantity.
//
// # Values
//
// Decimals are exact (1.10 keeps its two places, 1.10 = 1.1); division
// gives 8 places when it does not terminate. Integers are 64-bit; overflow
// gives empty. Dates and times compare field by field down to the coarser
// precision, giving empty where that leaves the answer open (@2012-04-15 =
// @2012-04-15T10:00); the second and its fraction are one precision. A
// DateTime with a time but no offset compared with one that has an offset
// is ordered only if the two are more than 14 hours apart, the spread of
// time zones, and is otherwise unknown.
//
// Quantities convert between UCUM units (see ucum.go for what is covered:
// SI units with prefixes, time, volume, customary mass and length, mm[Hg],
// Cel and [degF], products, quotients and exponents, annotations) and the
// calendar durations year, month, week, day, hour, minute, second and
// millisecond. The calendar durations of week and below equal their UCUM
// units (7 days = 1 'wk'); year and month do not (1 year = 1 'a' is empty).
// Date/time arithmetic accepts calendar durations and the UCUM units of
// definite duration (wk, d, h, min, s, ms), truncating the amount to an
// integer as FHIRPath specifies.
//
// # Functions
//
// The whole FHIRPath library: existence (empty, exists, all, allTrue,
// anyTrue, allFalse, anyFalse, subsetOf, supersetOf, count, distinct,
// isDistinct), filtering and projection (where, select, repeat, ofType),
// subsetting (single, first, last, tail, skip, take, intersect, exclude),
// combining (union, combine), conversion (iif and the toX/convertsToX
// family for Boolean, Integer, Decimal, String, Date, DateTime, Time and
// Quantity, with units), strings (indexOf, substring, startsWith, endsWith,
// contains, upper, lower, replace, matches, matchesFull, replaceMatches,
// length, toChars, split, join, trim, encode, decode, escape, unescape),
// math (abs, ceiling, exp, floor, ln, log, power, round, sqrt, truncate,
// sum, min, max, avg), tree navigation (children, descendants), utility
// (trace, now, today, timeOfDay, not), types (is, as, type), aggregate and
// sort. The FHIR additions: extension(url), hasValue(), getValue(),
// resolve(), conformsTo() (for the base profiles of R4 types),
// htmlChecks(), and lowBoundary(), highBoundary(), precision() and
// comparable(). The operators are all of FHIRPath's, with its three-valued
// logic; and, or and implies evaluate their right operand only when the
// left does not decide.
//
// resolve() asks Options.Resolve when given. Otherwise, and when that finds
// nothing, it finds contained resources (#id) itself, and turns a literal
// reference (Type/id, an absolute URL ending so, with or without
// _history) into an item of that resource type with no content, enough for
// Observation.subject.where(resolve() is Patient).
//
// One deliberate leniency: the as operator applied to several items filters
// them like ofType() instead of failing, because R4 search parameters
// depend on it (Observation.component.value as Quantity); the as()
// function keeps the specification's single-item rule.
//
// # Limits
//
// Hostile input cannot make an evaluation run away: expressions nest at
// most 200 levels, collections grow to at most 100,000 items (repeat() to
// 10,000), computed strings to 1 MB, and decimals to about 1,200 digits.
// Exceeding a limit is an evaluation error.
//
// # Conformance
//
// suite_test.go runs the official FHIRPath R4 test suite
// (../shared/data/fhirpath/fhir-r4.yaml, from HL7/fhirpath.js) and prints
// its figures:
//
//	go test ./internal/fhirpath -run TestFHIRPathSuite -v
//
// It runs the cases fhirpath.js disables too; SKIPS.md lists the few it
// skips, with why.
package fhirpath
