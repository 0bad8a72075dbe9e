// Package sqlsearch turns a karte.Query into SQL over the search index
// tables that kartehub's SQL engines share (see schema.go), so that SQLite
// and PostgreSQL differ only in their dialect: the Blaze lesson, FHIR search
// semantics written once.
//
// Resources are found through integer keys: rid, the row id of a live
// resource, which every index row carries; rkey, a 64-bit hash of
// "type/id"; and pkey, a 64-bit hash of "type.param" naming a search
// parameter of a resource type. Compact integer keys keep the indexes small,
// and they are compared together with the strings they stand for wherever a
// hash collision could give a wrong answer.
package sqlsearch
