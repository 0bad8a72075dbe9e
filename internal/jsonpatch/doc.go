// Package jsonpatch implements JSON Patch (RFC 6902) over the fhir JSON
// tree, for the FHIR patch interaction with a body of type
// application/json-patch+json.
//
// Parse reads and checks a patch document; Patch.Apply applies it to a
// resource atomically, returning either the patched copy or an *Error that
// names the failing operation, from which the server builds an
// OperationOutcome. JSON Pointers (RFC 6901) are parsed here too, since
// nothing else in kartehub needs them yet.
//
// Two choices go beyond the RFC. The test operation compares numbers by
// their text, as fhir.Equal does, because FHIR decimals carry precision
// ("1.0" is not "1.00"). And Apply refuses results that fhir.Parse would
// reject when the resource is read back (nesting deeper than
// fhir.MaxDepth) and copies that multiply the document, since a short
// patch that copies the document into itself again and again would
// otherwise exhaust memory.
package jsonpatch
