// Package search is FHIR search for kartehub: it extracts the values of
// every search parameter from a resource when it is written (Index), and
// turns the parameters of a search request into an engine-neutral
// karte.Query (Parse), with the FHIR semantics of each parameter type,
// prefix and modifier. Storage engines run the query; see package
// store/sqlsearch.
package search
