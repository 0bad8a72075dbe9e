// Package fhirimport loads FHIR data in bulk: Bundles (.json) and NDJSON
// files (.ndjson, one resource per line), into the record service of a
// data directory or into a running server.
//
// Imports are idempotent: every resource is written with an id fixed by the
// input (its urn:uuid fullUrl, its own id, or a hash of its content), so
// loading the same files again updates nothing and duplicates nothing.
// References to urn:uuid fullUrls are resolved across all the files of one
// import, because generators such as Synthea put the patients in one file
// and the organisations and practitioners they refer to in others.
package fhirimport
