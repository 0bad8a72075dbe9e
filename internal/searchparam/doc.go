// Package searchparam is the search-parameter registry of kartehub: the
// FHIR R4 search parameters each resource type can be searched by, with the
// FHIRPath expression that extracts a parameter's values from a resource,
// and the R4 compartments (Patient, Encounter, RelatedPerson, Practitioner,
// Device) with the parameters that link a resource to each.
//
// The R4 definitions share one SearchParameter among many resource types;
// a Registry holds one Param per code and type, with the expression for that
// type alone. Default returns the built-in R4 parameters; New returns a
// Registry of its own that a server can extend at run time with the
// parameters of SearchParameter resources (FromResource, Add, Remove).
// Readers never lock: a Registry is an immutable snapshot behind an atomic
// pointer, replaced whole by each change.
//
// The parameters common to all resource types (_id, _lastUpdated, _tag,
// _profile, _security, _source, _text, _content, _query, _filter) come from
// the definitions with base Resource or DomainResource. _list, _has and
// _type, which R4 describes on its search page but defines by no
// SearchParameter, are added to them. Lookup and Params include the common
// parameters with each type's own.
//
// # Generated tables
//
// The built-in parameters and compartments in params_r4.go are generated
// from the official R4 definitions, so that the build needs no npm. To
// regenerate them, fetch the package once:
//
//	mkdir -p /tmp/r4ex && cd /tmp/r4ex
//	npm pack hl7.fhir.r4.examples@4.0.1 && tar xzf hl7.fhir.r4.examples-4.0.1.tgz
//
// then run go generate ./internal/searchparam. The package is CC0; the
// generator reads its SearchParameter-*.json and CompartmentDefinition-*.json
// files, and says on stderr what it leaves out or changes (see
// internal/gen).
package searchparam

//go:generate go run ./internal/gen -defs /tmp/r4ex/package -out params_r4.go
