// Package fhirapi is the FHIR R4 REST API of kartehub: it decodes HTTP
// requests under the FHIR base (/fhir), calls the record service, and
// encodes the answers as FHIR JSON with the headers the specification
// requires (ETag, Last-Modified, Location). Every error leaves as an
// OperationOutcome whose HTTP status is mapped from its karte.Kind here,
// in one place.
package fhirapi
