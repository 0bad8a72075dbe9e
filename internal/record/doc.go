// Package record is the versioned FHIR record: the create, read, update,
// patch, delete, history, batch and transaction interactions, with their
// conditional forms, on any karte.Store.
//
// It is where FHIR semantics live. Listeners (the FHIR REST API, the bulk
// importer) decode requests into calls of Service; Service validates the
// content, runs the interaction in one store transaction and returns the
// stored versions. It knows nothing of HTTP.
package record
