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
// searchable alongside it.
type Index struct {
	Identifiers []Identifier
}
