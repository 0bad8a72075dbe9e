// Package fhir holds the FHIR R4 JSON model of kartehub: an order-keeping JSON
// tree with its parser and encoder, the R4 type definitions generated from the
// official StructureDefinitions, and structural validation against them.
//
// Resources stay JSON: kartehub never converts them to typed structs, so
// nothing a client sends is lost (decimal precision, key order, extensions).
package fhir
