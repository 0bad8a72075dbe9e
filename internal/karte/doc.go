// Package karte holds kartehub's domain: the stored FHIR resource version, the
// error kinds that every protocol edge maps to its own status codes, and the
// storage interfaces that each database engine implements.
//
// It imports nothing else of kartehub, so every other package may depend on it.
package karte
